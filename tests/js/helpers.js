'use strict'
// What every test file shares: clients pointed at the service, the node behind it read
// directly over plain HTTP, unique ids, and the switches for the tests of features the service
// does not have yet.

const { randomUUID } = require('node:crypto')
const { Client } = require('@elastic/elasticsearch')

const SERVICE_URL = process.env.CSP_SERVICE_URL
const ES_URL = (process.env.CSP_TEST_ES_URL || 'http://127.0.0.1:9200').replace(/\/$/, '')
if (!SERVICE_URL) throw new Error('CSP_SERVICE_URL is not set: run scripts/js-clients.sh')

const CONNECTORS = '.elastic-connectors'
const JOBS = '.elastic-connectors-sync-jobs'

function client (options = {}) {
  return new Client({ node: SERVICE_URL, requestTimeout: 30000, maxRetries: 0, ...options })
}

function unique (label) {
  return `js-${label}-${randomUUID().replace(/-/g, '').slice(0, 12)}`
}

// The node behind the service, in plain HTTP: what was really written.
async function call (method, path, body) {
  const response = await fetch(`${ES_URL}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await response.text()
  return { status: response.status, body: text ? JSON.parse(text) : null }
}

async function stored (index, id) {
  const { status, body } = await call('GET', `/${index}/_doc/${encodeURIComponent(id)}`)
  if (status === 404) return null
  if (status !== 200) throw new Error(`GET ${index}/${id} answered ${status}`)
  return body._source
}

// Runs `action`, which must fail with the client's ResponseError; returns the error.
async function responseError (action) {
  const { errors } = require('@elastic/elasticsearch')
  try {
    await action()
  } catch (error) {
    if (!(error instanceof errors.ResponseError)) throw error
    return error
  }
  throw new Error('expected a ResponseError, the call succeeded')
}

module.exports = { CONNECTORS, JOBS, call, client, responseError, stored, unique }
