'use strict';
const { version } = require('./package.json');
const { version: platformVersion } = require('zapier-platform-core');
const authentication = require('./authentication');
const { addBearer, handleErrors } = require('./api');
const delivery = require('./triggers/delivery');
const keys = require('./triggers/keys');
const send = require('./creates/send');

module.exports = {
  version,
  platformVersion,
  authentication,
  beforeRequest: [addBearer],
  afterResponse: [handleErrors],
  triggers: {
    [delivery.key]: delivery,
    [keys.leaked.key]: keys.leaked,
    [keys.expiring.key]: keys.expiring,
  },
  creates: {
    [send.key]: send,
  },
};
