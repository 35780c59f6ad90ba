package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apitokens/apitokens/shared/authorizer"
	"github.com/apitokens/apitokens/shared/eventqueue"
	"github.com/apitokens/apitokens/shared/handlers"
	"github.com/apitokens/apitokens/shared/keyring"
	"github.com/apitokens/apitokens/shared/tokenstore"
	"github.com/apitokens/apitokens/testkit/emulatortest"
	"github.com/apitokens/apitokens/testkit/samtemplate"
	"github.com/apitokens/apitokens/testkit/secretscan"
)

// TestAWSCallsPerAction pins the AWS calls each action makes, cold (a new container: no key ring
// in memory) and warm, with a key ring of 1, 2 and 4 versions: a key check costs one GetItem
// whatever the ring holds and whichever version made the key. A change that adds a call fails
// here; docs/api.md's table shows the same numbers.
func TestAWSCallsPerAction(t *testing.T) {
	for _, versions := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("ring of %d", versions), func(t *testing.T) { testAWSCallsPerAction(t, versions) })
	}
}

// putRing makes the key ring hold versions k1 … kN, keeping the material of those it holds, with
// current as its current version.
func putRing(t *testing.T, a *api, versions int, current string) {
	t.Helper()
	out, err := a.env.Secrets.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: &a.env.SecretARN})
	if err != nil {
		t.Fatal(err)
	}
	var ring map[string]string
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &ring); err != nil {
		t.Fatal(err)
	}
	ring["current"] = current
	for i := 1; i <= versions; i++ {
		if id := fmt.Sprintf("k%d", i); ring[id] == "" {
			ring[id] = strings.Repeat(fmt.Sprintf("material-of-%s-", id), 4)
		}
	}
	b, _ := json.Marshal(ring)
	if _, err := a.env.Secrets.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
		SecretId: &a.env.SecretARN, SecretString: aws.String(string(b)),
	}); err != nil {
		t.Fatal(err)
	}
	secretscan.Shared().AddKeyRing(string(b))
}

// keyTimes calls GET /v1/me n times with key, and answers 200 when every call was answered 200
// or 429 with RateLimit fields, 500 otherwise.
func keyTimes(a *api, key string, n int) int {
	for range n {
		r := a.keyDo(key, "GET", "/v1/me", "")
		if (r.status != 200 && r.status != 429) || r.headers["ratelimit"] == "" {
			return 500
		}
	}
	return 200
}

// wrongChecksum changes a key's last character, part of its checksum, to another.
func wrongChecksum(key string) string {
	last := "0"
	if strings.HasSuffix(key, last) {
		last = "1"
	}
	return key[:len(key)-1] + last
}

func testAWSCallsPerAction(t *testing.T, versions int) {
	a := newAPI(t, 50)
	// A key made under the oldest version, before the ring moved on to the newest.
	putRing(t, a, versions, "k1")
	a.deps.Keys = keyring.NewSource(a.env.Secrets, a.env.SecretARN, a.clock)
	oldKey := a.create(ann, `{"name":"made under k1"}`).str("key")
	putRing(t, a, versions, fmt.Sprintf("k%d", versions))
	unknownKey, _ := a.deps.Format.Generate()
	cold := func() {
		a.deps.Keys = keyring.NewSource(a.env.Secrets, a.env.SecretARN, a.clock)
		a.auth = authorizer.New(a.deps.Format, a.deps.Keys, a.deps.Store, 5e9, a.clock)
	}
	// coldRoute starts the routes afresh but not the key authorizer, a function of its own.
	coldRoute := func() {
		a.deps.Keys = keyring.NewSource(a.env.Secrets, a.env.SecretARN, a.clock)
	}
	var id, key, adminKey, restricted, handedOver, metered, nearly string
	// The subscription rows' key, its subscriptions (subID the first, ended by unsubscribe),
	// and the messages of the queue the sender's rows hand over one at a time.
	var subKey, subID, subID2, subID3, subIDFailing, subIDKey string
	var held map[string]events.SQSMessage
	hooks, failing := newReceiver(t, 0, 0), newReceiver(t, 1000, http.StatusServiceUnavailable)
	subscribe := func(target string) int {
		r := a.keyDo(subKey, "POST", "/v1/subscriptions", `{"targetUrl":"`+target+`","event":"delivery.received"}`)
		switch {
		case subID == "":
			subID = r.str("id")
		case subID2 == "":
			subID2 = r.str("id")
		case subID3 == "":
			subID3 = r.str("id")
		default:
			subIDFailing = r.str("id")
		}
		return r.status
	}
	// sendOne hands the sender one message, as the event source mapping would, and answers 500
	// unless it reports failures messages failed.
	sendOne := func(m events.SQSMessage, failures int) int {
		if m.MessageId == "" {
			return 500
		}
		resp, err := handlers.SendEvents(a.deps, loopbackClient())(emulatortest.WithCaller(context.Background(), "SenderFunction"),
			events.SQSEvent{Records: []events.SQSMessage{m}})
		if err != nil || len(resp.BatchItemFailures) != failures {
			return 500
		}
		return 200
	}
	steps := []struct {
		name string
		cold func()
		run  func() int
		want string
	}{
		{"create", cold, func() int {
			c := a.do(ann, "POST", "/v1/tokens", `{"name":"x"}`)
			id, key = c.str("id"), c.str("key")
			return c.status
		}, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1 SecretsManager.GetSecretValue=1"}, // +1: the policy
		{"create", nil, func() int {
			c := a.do(adam, "POST", "/v1/tokens", `{"name":"office","type":"admin"}`)
			adminKey = c.str("key")
			return c.status
		}, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1"},
		{"create, idempotent", nil, func() int {
			return a.doWith(ann, "POST", "/v1/tokens", `{"name":"z"}`, "idempotency-key", "k").status
		}, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1"},
		{"create, repeat", nil, func() int {
			r := a.doWith(ann, "POST", "/v1/tokens", `{"name":"z"}`, "idempotency-key", "k")
			if r.headers["idempotent-replayed"] != "true" {
				return 500
			}
			return r.status
		}, "DynamoDB.GetItem=3 DynamoDB.PutItem=1 DynamoDB.TransactWriteItems=1"},
		// +1 Query: the environment's calls of the last 24 hours, for every token of the page.
		{"list", cold, func() int { return a.do(ann, "GET", "/v1/tokens", "").status }, "DynamoDB.GetItem=1 DynamoDB.Query=2"},
		{"list, a next page", cold, func() int { return a.do(adam, "GET", "/v1/tokens?owner=all&limit=1", "").status }, "DynamoDB.GetItem=1 DynamoDB.Query=2 SecretsManager.GetSecretValue=1"},
		{"get", cold, func() int { return a.do(ann, "GET", "/v1/tokens/"+id, "").status }, "DynamoDB.GetItem=2"},
		{"rename", cold, func() int { return a.do(ann, "PATCH", "/v1/tokens/"+id, `{"name":"y"}`).status }, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1"},
		{"reveal", cold, func() int { return a.do(ann, "POST", "/v1/tokens/"+id+"/reveal", "").status }, "DynamoDB.GetItem=1 DynamoDB.PutItem=1 SecretsManager.GetSecretValue=1"},
		{"reveal", nil, func() int { return a.do(ann, "POST", "/v1/tokens/"+id+"/reveal", "").status }, "DynamoDB.GetItem=1 DynamoDB.PutItem=1"},
		{"deactivate", cold, func() int { return a.do(ann, "POST", "/v1/tokens/"+id+"/deactivate", "").status }, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1 SQS.SendMessage=1"},
		{"deactivate again", nil, func() int { return a.do(ann, "POST", "/v1/tokens/"+id+"/deactivate", "").status }, "DynamoDB.GetItem=1"},
		{"activate", cold, func() int { return a.do(ann, "POST", "/v1/tokens/"+id+"/activate", "").status }, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1"},
		{"audit", cold, func() int { return a.do(ann, "GET", "/v1/tokens/"+id+"/audit", "").status }, "DynamoDB.GetItem=1 DynamoDB.Query=1"},
		// The token, then its hours of the range in one Query (a month of hours fits one page).
		{"usage", func() {
			for h := range 30 {
				seedUsage(t, a, "env-1", id, a.clock().Add(-time.Duration(h)*time.Hour), tokenstore.UsageCounts{Allowed: 1})
			}
			coldRoute()
		}, func() int { return a.do(ann, "GET", "/v1/tokens/"+id+"/usage", "").status }, "DynamoDB.GetItem=1 DynamoDB.Query=1"},
		{"usage, 31 days by hour", nil, func() int {
			return a.do(ann, "GET", "/v1/tokens/"+id+"/usage?from="+a.clock().Add(-30*24*time.Hour).Format(time.RFC3339), "").status
		}, "DynamoDB.GetItem=1 DynamoDB.Query=1"},
		{"audit, a next page", cold, func() int { return a.do(ann, "GET", "/v1/tokens/"+id+"/audit?limit=1", "").status }, "DynamoDB.GetItem=1 DynamoDB.Query=1 SecretsManager.GetSecretValue=1"},
		// A key's check: one GetItem of its lookup item; the first key of an environment in a
		// copy of the authorizer also reads the environment's policy, once per PolicyTTL.
		{"authorize (the key, and the environment's policy)", cold, func() int { return a.keyDo(key, "GET", "/v1/me", "").status }, "DynamoDB.GetItem=2 DynamoDB.UpdateItem=1 SecretsManager.GetSecretValue=1"},
		{"authorize, cached", nil, func() int { return a.keyDo(key, "GET", "/v1/me", "").status }, ""},
		{"receive hook", nil, func() int { return a.keyDo(key, "POST", "/v1/hooks/zapier", `{"a":1}`).status }, "DynamoDB.TransactWriteItems=1 SQS.SendMessage=1"},
		{"receive hook, idempotent", nil, func() int {
			return a.keyDo(key, "POST", "/v1/hooks/zapier", `{"a":1}`, "idempotency-key", "k").status
		}, "DynamoDB.TransactWriteItems=1 SQS.SendMessage=1"},
		{"receive hook, repeat", nil, func() int {
			return a.keyDo(key, "POST", "/v1/hooks/zapier", `{"a":1}`, "idempotency-key", "k").status
		}, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1"},
		{"receive hook, an admin key's first call, for a user", nil, func() int {
			return a.keyDo(adminKey, "POST", "/v1/hooks/zapier?userId=ann", `{"a":1}`).status
		}, "DynamoDB.GetItem=2 DynamoDB.TransactWriteItems=1 DynamoDB.UpdateItem=1 SQS.SendMessage=1"},
		{"list hooks", nil, func() int { return a.keyDo(key, "GET", "/v1/hooks/events", "").status }, "DynamoDB.Query=1"},
		{"list hooks, a next page", coldRoute, func() int { return a.keyDo(key, "GET", "/v1/hooks/events?limit=1", "").status }, "DynamoDB.Query=1 SecretsManager.GetSecretValue=1"},
		{"authorize, a key of the oldest version (and the policy)", cold, func() int { return a.keyDo(oldKey, "GET", "/v1/me", "").status }, "DynamoDB.GetItem=2 DynamoDB.UpdateItem=1 SecretsManager.GetSecretValue=1"},
		{"authorize, a key nobody made (refused)", cold, func() int {
			if r := a.keyDo(unknownKey, "GET", "/v1/me", ""); r.status != 403 {
				return 500
			}
			return 200
		}, "DynamoDB.GetItem=1"},
		{"authorize, malformed (refused)", nil, func() int {
			if r := a.keyDo(wrongChecksum(key), "GET", "/v1/me", ""); r.status != 403 {
				return 500
			}
			return 200
		}, ""},
		{"authorize, a restricted key (and the policy: no key before it was allowed here)", func() {
			restricted = a.create(ann, `{"name":"r","permissions":["hooks:read"],"allowedCidrs":["54.86.9.0/24"]}`).str("key")
		}, func() int { return a.keyDo(restricted, "GET", "/v1/me", "").status }, "DynamoDB.GetItem=2 DynamoDB.UpdateItem=1"},
		{"authorize, a restricted key refused for its permission", nil, func() int {
			if r := a.keyDo(restricted, "POST", "/v1/hooks/zapier", `{"a":1}`); r.status != 403 {
				return 500
			}
			return 200
		}, ""},
		{"authorize, the policy due again", func() { a.advance(authorizer.DefaultPolicyTTL) }, func() int {
			return a.keyDo(restricted, "GET", "/v1/me", "").status
		}, "DynamoDB.GetItem=2"},
		// +4: a minute after the first count, the route's meter writes the usage of the four
		// tokens called so far, one UpdateItem per token and hour (meter.FlushAge).
		{"authorize, the policy still in memory", func() { a.advance(authorizer.DefaultPolicyTTL - time.Second) }, func() int {
			a.keyDo(restricted, "GET", "/v1/me", "") // reads the key again, the policy not yet
			return a.keyDo(restricted, "GET", "/v1/me", "").status
		}, "DynamoDB.GetItem=1 DynamoDB.UpdateItem=4"},
		// A key without limits costs the meter nothing (the cached steps above: no call at all).
		// A metered key: its instance claims blocks of the window's allowance, one UpdateItem
		// each, doubling from 1 while far below the limit (calls 2, 4 and 8 of 11 claim)…
		{"metered call, far below the limit", func() {
			metered = a.create(ann, `{"name":"m","rateLimit":{"requests":6000,"windowSeconds":60}}`).str("key")
			a.keyDo(metered, "GET", "/v1/me", "") // the key read, lastUsedAt, the first claim
		}, func() int { return keyTimes(a, metered, 10) }, "DynamoDB.UpdateItem=3"},
		// …and one call at a time near it: of a limit of 3, calls 2 and 3 claim one each, and
		// call 4 finds the window spent (429)…
		{"metered call, near the limit", func() {
			nearly = a.create(ann, `{"name":"n","rateLimit":{"requests":3,"windowSeconds":60}}`).str("key")
			a.keyDo(nearly, "GET", "/v1/me", "")
		}, func() int { return keyTimes(a, nearly, 3) }, "DynamoDB.UpdateItem=3"},
		// …after which the instance refuses without a write until the window ends.
		{"metered call, over the limit", nil, func() int { return keyTimes(a, nearly, 2) }, ""},
		{"roll", cold, func() int {
			r := a.do(ann, "POST", "/v1/tokens/"+id+"/roll", `{"gracePeriodSeconds":60}`)
			key = r.str("key")
			return r.status
		}, "DynamoDB.GetItem=2 DynamoDB.TransactWriteItems=1 SecretsManager.GetSecretValue=1"},
		{"revoke previous key", cold, func() int { return a.do(ann, "POST", "/v1/tokens/"+id+"/previous-key/revoke", "").status }, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1"},
		{"report a leak, malformed", cold, func() int { return a.signed(reportOf("cbk_short")).status }, ""},
		{"report a leak", cold, func() int { return a.signed(reportOf(key)).status }, "DynamoDB.GetItem=2 DynamoDB.TransactWriteItems=1 SQS.SendMessage=1 SecretsManager.GetSecretValue=1"},
		{"report a leak again", nil, func() int { return a.signed(reportOf(key)).status }, "DynamoDB.GetItem=2"},
		{"transfer", func() { handedOver = a.create(ann, `{"name":"t"}`).str("id"); coldRoute() }, func() int {
			return a.do(adam, "POST", "/v1/tokens/"+handedOver+"/transfer", `{"userId":"carl"}`).status
		}, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1 SecretsManager.GetSecretValue=1"},
		// carl holds one token (the one handed over): one transaction, and its key.deactivated
		// in one batch of up to ten events.
		{"deactivate a user's tokens (one token: its event in one batch)", nil, func() int {
			return a.do(adam, "POST", "/v1/users/carl/tokens/deactivate", "").status
		}, "DynamoDB.Query=1 DynamoDB.TransactWriteItems=1 SQS.SendMessageBatch=1"},
		{"get the policy", nil, func() int { return a.do(ann, "GET", "/v1/policy", "").status }, "DynamoDB.GetItem=1"},
		{"set the policy", nil, func() int { return a.do(adam, "PUT", "/v1/policy", `{}`).status }, "DynamoDB.PutItem=1"},
		// Subscriptions, with a key of their own (its check cached): the secret is sealed under
		// the ring's current version, read once per container; the subscription and its token's
		// count are one transaction.
		{"subscribe, cold (the ring, to seal the secret)", func() {
			subKey = a.create(ann, `{"name":"subscriber"}`).str("key")
			a.keyDo(subKey, "GET", "/v1/me", "")
			coldRoute()
		}, func() int { return subscribe(hooks.URL + "/a") }, "DynamoDB.TransactWriteItems=1 SecretsManager.GetSecretValue=1"},
		{"subscribe", nil, func() int { return subscribe(hooks.URL + "/b") }, "DynamoDB.TransactWriteItems=1"},
		{"list subscriptions", nil, func() int { return a.keyDo(subKey, "GET", "/v1/subscriptions", "").status }, "DynamoDB.Query=1"},
		{"list subscriptions, a next page, cold (the ring, to seal the cursor)", coldRoute, func() int {
			return a.keyDo(subKey, "GET", "/v1/subscriptions?limit=1", "").status
		}, "DynamoDB.Query=1 SecretsManager.GetSecretValue=1"},
		// The subscription is read first: another token's id answers 404, not an empty list.
		{"attempts", nil, func() int { return a.keyDo(subKey, "GET", "/v1/subscriptions/"+subID+"/attempts", "").status }, "DynamoDB.GetItem=1 DynamoDB.Query=1"},
		{"unsubscribe (the subscription and its token's count, one transaction)", nil, func() int {
			return a.keyDo(subKey, "DELETE", "/v1/subscriptions/"+subID, "").status
		}, "DynamoDB.TransactWriteItems=1"},
		// The sender, message by message as the queue hands them over (received before the
		// count). A fan-out reads the subscriptions that reach the event on gsi1 (the owner's
		// keys', then the environment's Admin keys') and queues one message each, ten to a batch.
		{"sender: fan out an event to 3 subscriptions (two gsi1 queries, one batch)", func() {
			subscribe(hooks.URL + "/c")
			subscribe(failing.URL)
			a.deps.Config.Webhooks.SubscriptionLimit = 10
			subIDKey = a.subscribe(subKey, `{"targetUrl":"`+hooks.URL+`/key","event":"key.deactivated"}`).str("id")
			a.drain(loopbackClient())
			a.do(ann, "POST", "/v1/tokens/"+a.create(ann, `{"name":"paused"}`).str("id")+"/deactivate", "")
			a.keyDo(subKey, "POST", "/v1/hooks/zapier", `{"a":1}`)
			held = receiveAll(t, a, func(m eventqueue.Message) string { return m.Event.Type })
		}, func() int { return sendOne(held[eventqueue.DeliveryReceived], 0) }, "DynamoDB.Query=2 SQS.SendMessageBatch=1"},
		// A delivery reads its token (paused or deleted: nothing is posted), its subscription
		// (ended: nothing is posted) and the delivery (not carried by the message: it may be as
		// large as a message), opens the secret under the ring, and records the attempt.
		{"sender: post a delivery, cold (token, subscription, delivery; the ring; the attempt)", func() {
			sendOne(held[eventqueue.KeyDeactivated], 0)
			held = receiveAll(t, a, func(m eventqueue.Message) string { return m.SubscriptionID })
			coldRoute()
		}, func() int { return sendOne(held[subID2], 0) }, "DynamoDB.GetItem=3 DynamoDB.PutItem=1 SecretsManager.GetSecretValue=1"},
		{"sender: post a delivery", nil, func() int { return sendOne(held[subID3], 0) }, "DynamoDB.GetItem=3 DynamoDB.PutItem=1"},
		// A failure hides the message for the backoff's wait before SQS hands it over again.
		{"sender: a failed attempt (and the wait before its retry)", nil, func() int { return sendOne(held[subIDFailing], 1) }, "DynamoDB.GetItem=3 DynamoDB.PutItem=1 SQS.ChangeMessageVisibility=1"},
		// A key event's data travels in the message: no delivery to read.
		{"sender: post a key event", nil, func() int { return sendOne(held[subIDKey], 0) }, "DynamoDB.GetItem=2 DynamoDB.PutItem=1"},
		{"delete", cold, func() int { return a.do(ann, "DELETE", "/v1/tokens/"+id, "").status }, "DynamoDB.GetItem=1 DynamoDB.TransactWriteItems=1 SQS.SendMessage=1"},
	}
	for _, s := range steps {
		if s.cold != nil {
			s.cold()
		}
		a.calls.Reset()
		if status := s.run(); status >= 400 {
			t.Fatalf("%s: status %d", s.name, status)
		}
		if got := a.calls.String(); got != s.want {
			t.Errorf("%s (cold %v): calls %q, want %q", s.name, s.cold != nil, got, s.want)
		}
	}
}

// receiveAll receives every message the events queue shows, as the event source mapping
// would, without deleting them, keyed by what by says of each; two with the same key fail the
// test.
func receiveAll(t *testing.T, a *api, by func(eventqueue.Message) string) map[string]events.SQSMessage {
	t.Helper()
	client, url := sqs.NewFromConfig(a.env.Config), a.env.Queues[samtemplate.EventsQueueResource]
	out := map[string]events.SQSMessage{}
	for {
		got, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: &url, MaxNumberOfMessages: 10,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Messages) == 0 {
			return out
		}
		for _, m := range got.Messages {
			var msg eventqueue.Message
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &msg); err != nil {
				t.Fatal(err)
			}
			k := by(msg)
			if _, dup := out[k]; dup {
				t.Fatalf("two messages for %s on the events queue, want one", k)
			}
			out[k] = events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
				Body: aws.ToString(m.Body), Attributes: m.Attributes, EventSource: "aws:sqs"}
		}
	}
}
