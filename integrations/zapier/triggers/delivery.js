'use strict';
const { apiUrl } = require('../api');
const { instantTrigger } = require('./hook');

module.exports = instantTrigger({
  key: 'new_delivery',
  event: 'delivery.received',
  noun: 'Delivery',
  label: 'New Webhook Delivery',
  description: 'Triggers when a webhook delivery is received (optionally from one source).',
  inputFields: [{
    key: 'source', label: 'Source', required: false,
    helpText: 'Only deliveries posted to /v1/hooks/{source} with this source; empty for every source.',
  }],
  list: async (z, bundle) => {
    const params = { limit: 20 };
    if (bundle.inputData && bundle.inputData.source) {
      params.source = bundle.inputData.source;
    }
    const response = await z.request({ url: `${apiUrl()}/v1/hooks/events`, params });
    return response.data.items;
  },
  sample: {
    id: 'evt_01KAZ3K0A1B2C3D4E5F6G7H8J9', source: 'zapier', userId: 'ann',
    tokenId: 'tok_01KAZ3J3W8M1Y4S0ZQ6X7P2B9C', receivedAt: '2026-11-25T18:00:00Z', payload: { event: 'listing.updated' },
  },
});
