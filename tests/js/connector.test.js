'use strict'
// The connector methods with the client's default options, then again with `compression: true`
// (gzip request bodies).

const { describe } = require('node:test')
const { client } = require('./helpers')
const { connectorMethodTests } = require('./connector_methods')

describe('connector methods, default options', { concurrency: true }, () => {
  connectorMethodTests(() => client())
})

describe('connector methods, compressed request bodies', { concurrency: true }, () => {
  connectorMethodTests(() => client({ compression: true }))
})
