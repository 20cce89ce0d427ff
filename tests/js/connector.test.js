'use strict'
// The connector methods with the client's default options, then again with `compression: true`
// (gzip request bodies), which the service answers only with CSP_CLIENTS_WIRE_OPTIONS=1.

const { describe } = require('node:test')
const { WIRE_OPTIONS, client } = require('./helpers')
const { connectorMethodTests } = require('./connector_methods')

describe('connector methods, default options', { concurrency: true }, () => {
  connectorMethodTests(() => client())
})

describe('connector methods, compressed request bodies', { concurrency: true, skip: !WIRE_OPTIONS && 'set CSP_CLIENTS_WIRE_OPTIONS=1' }, () => {
  connectorMethodTests(() => client({ compression: true }))
})
