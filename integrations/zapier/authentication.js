'use strict';
const { apiUrl } = require('./api');

// An API key of the service, tested with GET /v1/me; the connection is labelled with the key's
// token name and its user.
module.exports = {
  type: 'custom',
  fields: [
    {
      key: 'apiKey',
      label: 'API key',
      type: 'password',
      required: true,
      helpText: 'Create one under **API Tokens** in the CRM (*New*, then copy the key shown once).',
    },
  ],
  test: async (z) => {
    const response = await z.request({ url: `${apiUrl()}/v1/me` });
    return response.data;
  },
  connectionLabel: '{{tokenName}} ({{userId}})',
};
