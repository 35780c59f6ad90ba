'use strict';
const { instantTrigger, keySample } = require('./hook');

const sample = {
  id: 'kev_01KAZ3K0A1B2C3D4E5F6G7H8J9', tokenId: 'tok_01KAZ3J3W8M1Y4S0ZQ6X7P2B9C', tokenName: 'Zapier Sync',
  type: 'user', userId: 'ann', environmentId: 'env-1', hint: 'cbk_…x7Qa', expiresAt: null, leak: null,
};

module.exports = {
  leaked: instantTrigger({
    key: 'key_leaked', event: 'key.leaked', noun: 'Key', label: 'API Key Leaked',
    description: 'Triggers when a key this connection may see is reported leaked (and so deactivated).',
    list: keySample('key.leaked'), sample,
  }),
  expiring: instantTrigger({
    key: 'key_expiring', event: 'key.expiring', noun: 'Key', label: 'API Key Expiring Soon',
    description: 'Triggers once for each key this connection may see that expires within 7 days.',
    list: keySample('key.expiring'), sample,
  }),
};
