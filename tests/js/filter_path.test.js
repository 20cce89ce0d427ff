'use strict'
// `filter_path`, the common parameter of every API, on the service's own answers, as
// Elasticsearch applies it: dotted paths, `*` and `**` wildcards, exclusions with a leading `-`,
// several paths comma-separated; an answer filtered to nothing is `{}`; error answers are not
// filtered.

const assert = require('node:assert/strict')
const { describe, it, before, after } = require('node:test')
const { client, responseError, unique } = require('./helpers')

describe('filter_path on connector answers', () => {
  const es = client()
  const connectorId = unique('filter')
  const indexName = unique('search')
  let jobId

  before(async () => {
    await es.connector.put({ connector_id: connectorId, index_name: indexName, name: 'filtered', service_type: 'mongodb' })
    jobId = (await es.connector.syncJobPost({ id: connectorId })).id
  })
  after(async () => {
    await es.connector.delete({ connector_id: connectorId, hard: true, delete_sync_jobs: true })
  })

  it('keeps only the listed keys of a connector', async () => {
    const got = await es.connector.get({ connector_id: connectorId, filter_path: 'name,status' })
    assert.deepEqual(got, { name: 'filtered', status: 'created' })
    const asArray = await es.connector.get({ connector_id: connectorId, filter_path: ['index_name', 'service_type'] })
    assert.deepEqual(asArray, { index_name: indexName, service_type: 'mongodb' })
  })

  it('filters the answers of writes', async () => {
    const putId = unique('filter-put')
    const created = await es.connector.put({ connector_id: putId, filter_path: 'result' }, { meta: true })
    assert.equal(created.statusCode, 201)
    assert.deepEqual(created.body, { result: 'created' })
    await es.connector.delete({ connector_id: putId, hard: true })
    const posted = await es.connector.syncJobPost({ id: connectorId, filter_path: 'id' })
    assert.deepEqual(Object.keys(posted), ['id'])
    await es.connector.syncJobDelete({ connector_sync_job_id: posted.id })
    assert.deepEqual(await es.connector.updateName({ connector_id: connectorId, name: 'filtered', filter_path: '-result' }), {})
  })

  it('follows dotted paths into lists and objects', async () => {
    const listed = await es.connector.list({ index_name: indexName, filter_path: 'results.id' })
    assert.deepEqual(listed, { results: [{ id: connectorId }] })
    const counted = await es.connector.list({ index_name: indexName, filter_path: 'count' })
    assert.deepEqual(counted, { count: 1 })
    const rules = await es.connector.get({ connector_id: connectorId, filter_path: 'filtering.active.rules.id' })
    assert.deepEqual(rules, { filtering: [{ active: { rules: [{ id: 'DEFAULT' }] } }] })
  })

  it('matches wildcards', async () => {
    const enabled = await es.connector.get({ connector_id: connectorId, filter_path: 'scheduling.*.enabled' })
    assert.deepEqual(enabled, {
      scheduling: { access_control: { enabled: false }, full: { enabled: false }, incremental: { enabled: false } }
    })
    const anyDepth = await es.connector.get({ connector_id: connectorId, filter_path: '**.interval' })
    assert.deepEqual(anyDepth, {
      scheduling: {
        access_control: { interval: '0 0 0 * * ?' },
        full: { interval: '0 0 0 * * ?' },
        incremental: { interval: '0 0 0 * * ?' }
      }
    })
  })

  it('leaves out the excluded keys', async () => {
    const whole = await es.connector.get({ connector_id: connectorId })
    const excluded = ['filtering', 'configuration', 'scheduling', 'custom_scheduling']
    const rest = await es.connector.get({ connector_id: connectorId, filter_path: excluded.map(key => '-' + key).join(',') })
    const expected = Object.fromEntries(Object.entries(whole).filter(([key]) => !excluded.includes(key)))
    assert.deepEqual(rest, expected)
  })

  it('answers {} when nothing matches', async () => {
    const nothing = await es.connector.get({ connector_id: connectorId, filter_path: 'no_such_key' }, { meta: true })
    assert.equal(nothing.statusCode, 200)
    assert.deepEqual(nothing.body, {})
    assert.deepEqual(await es.connector.checkIn({ connector_id: connectorId, filter_path: 'no_such_key' }), {})
  })

  it('filters sync job answers', async () => {
    const job = await es.connector.syncJobGet({ connector_sync_job_id: jobId, filter_path: 'connector.id,status' })
    assert.deepEqual(job, { connector: { id: connectorId }, status: 'pending' })
    const page = await es.connector.syncJobList({ connector_id: connectorId, filter_path: 'results.id,count' })
    assert.deepEqual(page, { count: 1, results: [{ id: jobId }] })
    const canceled = await es.connector.syncJobCancel({ connector_sync_job_id: jobId, filter_path: 'result' })
    assert.deepEqual(canceled, { result: 'updated' })
  })

  it('does not filter error answers', async () => {
    const missing = await responseError(() => es.connector.get({ connector_id: unique('missing'), filter_path: 'name' }))
    assert.equal(missing.statusCode, 404)
    assert.equal(missing.body.error.type, 'resource_not_found_exception')
    assert.equal(missing.body.status, 404)
  })
})
