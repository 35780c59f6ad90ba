'use strict';
const { apiUrl } = require('../api');

// instantTrigger is a REST hook trigger on one event type: subscribing makes a subscription of
// the connection's key (POST /v1/subscriptions), unsubscribing ends it, and each webhook the
// service posts is one trigger run. list gives Zapier its samples when the user tests the step.
const instantTrigger = ({ key, event, noun, label, description, inputFields, list, sample }) => ({
  key,
  noun,
  display: { label, description },
  operation: {
    type: 'hook',
    inputFields: inputFields || [],
    performSubscribe: async (z, bundle) => {
      const body = { targetUrl: bundle.targetUrl, event };
      if (bundle.inputData && bundle.inputData.source) {
        body.source = bundle.inputData.source;
      }
      const response = await z.request({ url: `${apiUrl()}/v1/subscriptions`, method: 'POST', body });
      return response.data;
    },
    performUnsubscribe: async (z, bundle) => {
      await z.request({ url: `${apiUrl()}/v1/subscriptions/${encodeURIComponent(bundle.subscribeData.id)}`, method: 'DELETE' });
      return {};
    },
    // The webhook's body is {type, timestamp, data}; the trigger's item is its data, whose id
    // Zapier tells runs apart by.
    perform: (z, bundle) => [bundle.cleanedRequest.data],
    performList: list,
    sample,
  },
});

// keySample is a key event's data made from the connection's own token, for samples: the key
// events cannot be listed after the fact.
const keySample = (event) => async (z) => {
  const me = (await z.request({ url: `${apiUrl()}/v1/me` })).data;
  return [{
    id: `sample_${event}_${me.tokenId}`, tokenId: me.tokenId, tokenName: me.tokenName, type: me.type,
    userId: me.userId, environmentId: me.environmentId, hint: '', expiresAt: null, leak: null,
  }];
};

module.exports = { instantTrigger, keySample };
