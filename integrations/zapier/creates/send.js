'use strict';
const crypto = require('crypto');
const { apiUrl } = require('../api');

// idempotencyKey is the same for Zapier's retries of one step run (they repeat its input), so
// the API stores the delivery once. A mapped key (say, the record's id) is used as it is.
const idempotencyKey = (bundle) => {
  if (bundle.inputData.idempotencyKey) {
    return String(bundle.inputData.idempotencyKey).slice(0, 255);
  }
  const zap = bundle.meta && bundle.meta.zap ? bundle.meta.zap.id : '';
  const sum = crypto.createHash('sha256').update(JSON.stringify([zap, bundle.inputData])).digest('hex');
  return `zapier-${sum}`;
};

module.exports = {
  key: 'send_webhook',
  noun: 'Webhook',
  display: { label: 'Send Webhook', description: 'Records a webhook delivery (POST /v1/hooks/{source}).' },
  operation: {
    inputFields: [
      { key: 'source', label: 'Source', required: true, default: 'zapier', helpText: '1–64 of a-z, 0-9, ".", "_" or "-".' },
      { key: 'payload', label: 'Payload', dict: true, required: true, helpText: 'The fields of the JSON object to record.' },
      { key: 'userId', label: 'User', required: false, helpText: 'With an Admin key: the user of the environment to record it for.' },
      { key: 'idempotencyKey', label: 'Idempotency key', required: false, helpText: 'Deliveries with the same key are recorded once (30 days). Empty: one per step run.' },
    ],
    perform: async (z, bundle) => {
      const params = bundle.inputData.userId ? { userId: bundle.inputData.userId } : {};
      const response = await z.request({
        url: `${apiUrl()}/v1/hooks/${encodeURIComponent(bundle.inputData.source)}`,
        method: 'POST',
        params,
        headers: { 'Idempotency-Key': idempotencyKey(bundle) },
        body: bundle.inputData.payload || {},
      });
      return response.data;
    },
    sample: { id: 'evt_01KAZ3K0A1B2C3D4E5F6G7H8J9', receivedAt: '2026-11-25T18:00:00Z' },
  },
};
