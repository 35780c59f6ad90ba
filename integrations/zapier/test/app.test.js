'use strict';
// The app against a running API (API_URL, API_KEY: the local run's, set by the Go test
// cmd/localapi/zapier_test.go). Webhooks the API posts are received on 127.0.0.1 and verified
// with the standardwebhooks package.
const { test, before, after } = require('node:test');
const assert = require('node:assert');
const http = require('node:http');
const zapier = require('zapier-platform-core');
const { Webhook } = require('standardwebhooks');
const App = require('../index');

const appTester = zapier.createAppTester(App);
const authData = { apiKey: process.env.API_KEY };

// A receiver on loopback that keeps what it is posted.
let server;
let receivedResolve = [];
const received = [];
before(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      received.push({ headers: req.headers, body, path: req.url });
      res.statusCode = 204;
      res.end();
      receivedResolve.forEach((f) => f());
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
});
after(() => server.close());

const target = (name) => `http://127.0.0.1:${server.address().port}/${name}`;

// waitFor waits up to 15 s for a request to path.
const waitFor = async (path) => {
  const deadline = Date.now() + 15000;
  for (;;) {
    const got = received.find((r) => r.path === path);
    if (got) return got;
    if (Date.now() > deadline) throw new Error(`no webhook to ${path} within 15 s`);
    await new Promise((resolve) => { receivedResolve.push(resolve); setTimeout(resolve, 200); });
  }
};

test('the connection test answers who the key is, and labels the connection', async () => {
  const me = await appTester(App.authentication.test, { authData });
  assert.match(me.tokenId, /^tok_/);
  assert.strictEqual(me.tokenName, 'Zapier');
  assert.strictEqual(App.authentication.connectionLabel, '{{tokenName}} ({{userId}})');
});

test('a refused key is an authentication error with the API\'s detail', async () => {
  const bad = `${process.env.API_KEY.slice(0, -1)}${process.env.API_KEY.endsWith('A') ? 'B' : 'A'}`;
  await assert.rejects(appTester(App.authentication.test, { authData: { apiKey: bad } }), (err) => {
    assert.match(err.message, /The API key was refused: Forbidden/);
    assert.strictEqual(err.name, 'ExpiredAuthError');
    return true;
  });
});

test('New Webhook Delivery: subscribe, a signed webhook, perform, list, unsubscribe', async () => {
  const trigger = App.triggers.new_delivery.operation;
  const sub = await appTester(trigger.performSubscribe, { authData, targetUrl: target('deliveries'), inputData: { source: 'crm' } });
  assert.match(sub.id, /^sub_/);
  assert.match(sub.secret, /^whsec_/);

  const create = App.creates.send_webhook.operation.perform;
  const sent = await appTester(create, { authData, inputData: { source: 'crm', payload: { contact: 'Jo' } } });
  const again = await appTester(create, { authData, inputData: { source: 'crm', payload: { contact: 'Jo' } } });
  assert.strictEqual(again.id, sent.id, 'a retried step records the delivery once');

  const got = await waitFor('/deliveries');
  const verified = new Webhook(sub.secret).verify(got.body, got.headers); // throws when it does not verify
  assert.strictEqual(verified.type, 'delivery.received');
  assert.strictEqual(verified.data.id, sent.id);
  assert.throws(() => new Webhook(sub.secret).verify(got.body.replace('Jo', 'Al'), got.headers));

  const items = await appTester(trigger.perform, { authData, cleanedRequest: JSON.parse(got.body) });
  assert.deepStrictEqual(items.map((i) => i.payload), [{ contact: 'Jo' }]);
  const list = await appTester(trigger.performList, { authData, inputData: { source: 'crm' } });
  assert.strictEqual(list[0].id, sent.id);

  await appTester(trigger.performUnsubscribe, { authData, subscribeData: sub });
  await assert.rejects(appTester(trigger.performUnsubscribe, { authData, subscribeData: sub }), /No subscription with this id/);
});

test('key triggers subscribe, list a sample of the connection\'s key, and unsubscribe', async () => {
  for (const key of ['key_leaked', 'key_expiring']) {
    const op = App.triggers[key].operation;
    const sub = await appTester(op.performSubscribe, { authData, targetUrl: target(key) });
    const list = await appTester(op.performList, { authData });
    assert.match(list[0].tokenId, /^tok_/);
    await appTester(op.performUnsubscribe, { authData, subscribeData: sub });
  }
});

test('a target outside this machine is refused by the local run, with the API\'s detail', async () => {
  const op = App.triggers.key_leaked.operation;
  await assert.rejects(appTester(op.performSubscribe, { authData, targetUrl: 'http://10.0.0.1/hook' }), /targetUrl must be/);
});

// What `zapier validate` checks first: the compiled app against zapier-platform-schema (the
// CLI itself, make zapier-validate, needs Node 22).
test('the app definition is valid for zapier-platform-core', async () => {
  const handler = zapier.createAppHandler(App);
  const res = await new Promise((resolve, reject) => {
    handler({ command: 'validate', platformVersion: zapier.version }, {}, (err, out) => (err ? reject(err) : resolve(out)));
  });
  assert.deepStrictEqual(res.results, []);
});
