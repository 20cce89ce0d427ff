'use strict'
// Every `client.connector.*` method of the official JavaScript client that manages connectors
// and sync jobs, as one set of tests that connector.test.js runs once per set of client
// options. Each test reads back what it wrote, through the client and from the node itself.

const assert = require('node:assert/strict')
const { it } = require('node:test')
const { CONNECTORS, JOBS, responseError, stored, unique } = require('./helpers')

function connectorMethodTests (makeClient) {
  let es
  const client = () => es || (es = makeClient())

  it('puts, posts, gets, lists and deletes connectors', async () => {
    const connectorId = unique('crud')
    const indexName = unique('search')

    const created = await client().connector.put({
      connector_id: connectorId,
      index_name: indexName,
      name: 'my-connector',
      description: 'made by the javascript client',
      language: 'pl',
      is_native: false,
      service_type: 'super-connector'
    }, { meta: true })
    assert.equal(created.statusCode, 201)
    assert.deepEqual(created.body, { id: connectorId, result: 'created' })
    assert.equal(created.headers['x-elastic-product'], 'Elasticsearch')
    const first = await client().connector.get({ connector_id: connectorId })
    assert.equal(first.description, 'made by the javascript client')
    assert.equal(first.language, 'pl')
    // PUT on an existing connector writes it anew: what the second PUT leaves out is gone.
    const again = await client().connector.put({ connector_id: connectorId, index_name: indexName, name: 'my-connector', service_type: 'super-connector' })
    assert.deepEqual(again, { id: connectorId, result: 'updated' })

    const generated = await client().connector.put({})
    assert.equal(generated.result, 'created')
    assert.equal(generated.id.length, 20)
    const posted = await client().connector.post({ service_type: 'super-connector', name: 'posted' }, { meta: true })
    assert.equal(posted.statusCode, 201)
    assert.equal(posted.body.result, 'created')
    assert.equal((await client().connector.get({ connector_id: posted.body.id })).name, 'posted')

    const got = await client().connector.get({ connector_id: connectorId })
    assert.equal(got.id, connectorId)
    assert.equal(got.index_name, indexName)
    assert.equal(got.name, 'my-connector')
    assert.equal(got.description, undefined)
    assert.equal(got.is_native, false)
    assert.equal(got.service_type, 'super-connector')
    assert.equal(got.status, 'created')
    assert.equal(got.deleted, false)
    assert.equal(got.sync_now, false)
    assert.equal(got.filtering[0].domain, 'DEFAULT')
    assert.equal(got.filtering[0].active.rules[0].id, 'DEFAULT')
    assert.deepEqual(got.scheduling.full, { enabled: false, interval: '0 0 0 * * ?' })

    const listed = await client().connector.list({ index_name: indexName })
    assert.equal(listed.count, 1)
    assert.equal(listed.results[0].id, connectorId)
    assert.equal((await client().connector.list({ connector_name: 'my-connector', index_name: [indexName], from: 0, size: 10 })).count, 1)
    assert.equal((await client().connector.list({ service_type: 'super-connector', query: indexName })).count, 1)

    assert.deepEqual(await client().connector.delete({ connector_id: connectorId }), { acknowledged: true })
    const missing = await responseError(() => client().connector.get({ connector_id: connectorId }))
    assert.equal(missing.statusCode, 404)
    assert.equal(missing.body.error.type, 'resource_not_found_exception')
    const soft = await client().connector.get({ connector_id: connectorId, include_deleted: true })
    assert.equal(soft.deleted, true)
    assert.equal((await client().connector.list({ index_name: indexName })).count, 0)
    assert.equal((await client().connector.list({ index_name: indexName, include_deleted: true })).count, 1)

    assert.deepEqual(await client().connector.delete({ connector_id: connectorId, hard: true }), { acknowledged: true })
    assert.equal(await stored(CONNECTORS, connectorId), null)
    for (const other of [generated.id, posted.body.id]) {
      await client().connector.delete({ connector_id: other, hard: true })
    }
  })

  it('runs every update method and reads each change back', async () => {
    const connectorId = unique('updates')
    await client().connector.put({ connector_id: connectorId, index_name: 'content-' + unique('index'), service_type: 'super-connector' })
    const read = () => client().connector.get({ connector_id: connectorId })

    assert.deepEqual(await client().connector.checkIn({ connector_id: connectorId }), { result: 'updated' })
    assert.match((await read()).last_seen, /Z$/)

    assert.deepEqual(await client().connector.updateApiKeyId({ connector_id: connectorId, api_key_id: 'key-id', api_key_secret_id: 'secret-id' }), { result: 'updated' })
    let got = await read()
    assert.deepEqual([got.api_key_id, got.api_key_secret_id], ['key-id', 'secret-id'])

    const configuration = {
      some_field: { label: 'Very important field', display: 'numeric', type: 'int', value: 123, required: true, sensitive: false, order: 1 }
    }
    assert.deepEqual(await client().connector.updateConfiguration({ connector_id: connectorId, configuration }), { result: 'updated' })
    got = await read()
    assert.equal(got.configuration.some_field.value, 123)
    assert.equal(got.configuration.some_field.label, 'Very important field')
    assert.equal(got.status, 'configured')
    await client().connector.updateConfiguration({ connector_id: connectorId, values: { some_field: 42 } })
    assert.equal((await read()).configuration.some_field.value, 42)
    const unknownField = await responseError(() => client().connector.updateConfiguration({ connector_id: connectorId, values: { nope: 1 } }))
    assert.equal(unknownField.statusCode, 400)
    assert.equal(unknownField.body.error.type, 'status_exception')

    assert.deepEqual(await client().connector.updateError({ connector_id: connectorId, error: 'some error' }), { result: 'updated' })
    got = await read()
    assert.deepEqual([got.error, got.status], ['some error', 'error'])
    await client().connector.updateError({ connector_id: connectorId, error: null })
    got = await read()
    assert.deepEqual([got.error, got.status], [null, 'connected'])

    assert.deepEqual(await client().connector.updateFeatures({ connector_id: connectorId, features: { document_level_security: { enabled: true } } }), { result: 'updated' })
    await client().connector.updateFeatures({ connector_id: connectorId, features: { incremental_sync: { enabled: false } } })
    assert.deepEqual((await read()).features, { document_level_security: { enabled: true }, incremental_sync: { enabled: false } })

    const rule = {
      field: 'title', id: 'only-docs', order: 1, policy: 'include', rule: 'contains', value: 'doc',
      created_at: '2024-05-01T10:00:00.000Z', updated_at: '2024-05-01T10:00:00.000Z'
    }
    const filtering = await client().connector.updateFiltering({ connector_id: connectorId, rules: [rule], advanced_snippet: { value: { query: 'x' } } })
    assert.deepEqual(filtering, { result: 'updated' })
    const draft = (await read()).filtering[0].draft
    assert.deepEqual(draft.rules.map(r => r.id), ['only-docs', 'DEFAULT'])
    assert.deepEqual(draft.advanced_snippet.value, { query: 'x' })
    assert.equal(draft.validation.state, 'edited')
    const notValidated = await responseError(() => client().connector.updateActiveFiltering({ connector_id: connectorId }))
    assert.equal(notValidated.statusCode, 400)
    assert.deepEqual(await client().connector.updateFilteringValidation({ connector_id: connectorId, validation: { state: 'valid', errors: [] } }), { result: 'updated' })
    assert.deepEqual(await client().connector.updateActiveFiltering({ connector_id: connectorId }), { result: 'updated' })
    assert.equal((await read()).filtering[0].active.rules[0].id, 'only-docs')

    const newIndex = 'content-' + unique('index')
    assert.deepEqual(await client().connector.updateIndexName({ connector_id: connectorId, index_name: newIndex }), { result: 'updated' })
    assert.equal((await read()).index_name, newIndex)

    assert.deepEqual(await client().connector.updateName({ connector_id: connectorId, name: 'renamed', description: 'described' }), { result: 'updated' })
    got = await read()
    assert.deepEqual([got.name, got.description], ['renamed', 'described'])

    assert.deepEqual(await client().connector.updateNative({ connector_id: connectorId, is_native: true }), { result: 'updated' })
    got = await read()
    assert.deepEqual([got.is_native, got.status], [true, 'configured'])

    const pipeline = { extract_binary_content: true, name: 'search-default-ingestion', reduce_whitespace: true, run_ml_inference: false }
    assert.deepEqual(await client().connector.updatePipeline({ connector_id: connectorId, pipeline }), { result: 'updated' })
    assert.deepEqual((await read()).pipeline, pipeline)

    const scheduling = { full: { enabled: true, interval: '0 0 12 ? * mon' } }
    assert.deepEqual(await client().connector.updateScheduling({ connector_id: connectorId, scheduling }), { result: 'updated' })
    assert.deepEqual((await read()).scheduling.full, { enabled: true, interval: '0 0 12 ? * MON' })

    assert.deepEqual(await client().connector.updateServiceType({ connector_id: connectorId, service_type: 'mongodb' }), { result: 'updated' })
    got = await read()
    assert.deepEqual([got.service_type, got.status], ['mongodb', 'needs_configuration'])

    assert.deepEqual(await client().connector.updateStatus({ connector_id: connectorId, status: 'configured' }), { result: 'updated' })
    assert.equal((await read()).status, 'configured')
    const refused = await responseError(() => client().connector.updateStatus({ connector_id: connectorId, status: 'created' }))
    assert.equal(refused.statusCode, 400)
    assert.equal(refused.body.error.type, 'status_exception')
    assert.match(refused.body.error.reason, /Invalid transition attempt from \[configured\] to \[created\]/)

    const lastSync = await client().connector.lastSync({
      connector_id: connectorId,
      last_sync_status: 'completed',
      last_synced: '2024-06-01T10:11:12.345Z',
      last_indexed_document_count: 42,
      last_deleted_document_count: 3,
      sync_cursor: { pointer: 1 }
    })
    assert.deepEqual(lastSync, { result: 'updated' })
    got = await read()
    assert.equal(got.last_sync_status, 'completed')
    assert.equal(got.last_synced, '2024-06-01T10:11:12.345Z')
    assert.deepEqual([got.last_indexed_document_count, got.last_deleted_document_count], [42, 3])
    assert.deepEqual(got.sync_cursor, { pointer: 1 })
    assert.deepEqual(await stored(CONNECTORS, connectorId), (({ id, ...source }) => source)(got))

    await client().connector.delete({ connector_id: connectorId, hard: true })
  })

  it('answers a missing connector with a 404 ResponseError', async () => {
    const missing = unique('missing')
    const lookup = await responseError(() => client().connector.updateStatus({ connector_id: missing, status: 'error' }))
    assert.equal(lookup.statusCode, 404)
    assert.equal(lookup.body.error.type, 'resource_not_found_exception')
    const direct = await responseError(() => client().connector.updateName({ connector_id: missing, name: 'x' }))
    assert.equal(direct.statusCode, 404)
    assert.equal(direct.body.error.type, 'document_missing_exception')
    const gone = await responseError(() => client().connector.delete({ connector_id: missing }))
    assert.equal(gone.statusCode, 404)
    const noJob = await responseError(() => client().connector.syncJobPost({ id: missing }))
    assert.equal(noJob.statusCode, 404)
    assert.equal(noJob.body.error.type, 'resource_not_found_exception')
  })

  it('posts, gets, lists, cancels and deletes sync jobs', async () => {
    const connectorId = unique('jobs')
    const indexName = unique('search')
    await client().connector.put({ connector_id: connectorId, index_name: indexName, service_type: 'mongodb' })

    const posted = await client().connector.syncJobPost({ id: connectorId, job_type: 'incremental', trigger_method: 'scheduled' }, { meta: true })
    assert.equal(posted.statusCode, 201)
    assert.deepEqual(Object.keys(posted.body), ['id'])
    const jobId = posted.body.id

    const job = await client().connector.syncJobGet({ connector_sync_job_id: jobId })
    assert.equal(job.id, jobId)
    assert.equal(job.status, 'pending')
    assert.equal(job.job_type, 'incremental')
    assert.equal(job.trigger_method, 'scheduled')
    assert.equal(job.connector.id, connectorId)
    assert.equal(job.connector.index_name, indexName)
    assert.equal(job.connector.service_type, 'mongodb')
    assert.deepEqual([job.indexed_document_count, job.deleted_document_count, job.total_document_count], [0, 0, 0])
    assert.deepEqual(job.metadata, {})
    assert.deepEqual(await stored(JOBS, jobId), (({ id, ...source }) => source)(job))

    const second = (await client().connector.syncJobPost({ id: connectorId })).id
    const page = await client().connector.syncJobList({ connector_id: connectorId })
    assert.equal(page.count, 2)
    assert.deepEqual(page.results.map(r => r.id), [second, jobId])
    const incremental = await client().connector.syncJobList({ connector_id: connectorId, job_type: ['incremental'], size: 1, from: 0 })
    assert.deepEqual(incremental.results.map(r => r.id), [jobId])
    const pending = await client().connector.syncJobList({ connector_id: connectorId, status: 'pending' })
    assert.equal(pending.count, 2)

    assert.deepEqual(await client().connector.syncJobCancel({ connector_sync_job_id: second }), { result: 'updated' })
    const canceled = await client().connector.syncJobGet({ connector_sync_job_id: second })
    assert.equal(canceled.status, 'canceled')
    assert.ok(canceled.canceled_at && canceled.cancelation_requested_at)
    const twice = await responseError(() => client().connector.syncJobCancel({ connector_sync_job_id: second }))
    assert.equal(twice.statusCode, 400)
    assert.equal(twice.body.error.type, 'status_exception')
    assert.match(twice.body.error.reason, /Invalid transition attempt from \[canceled\] to \[canceling\]/)

    assert.deepEqual(await client().connector.syncJobDelete({ connector_sync_job_id: jobId }), { acknowledged: true })
    const missing = await responseError(() => client().connector.syncJobGet({ connector_sync_job_id: jobId }))
    assert.equal(missing.statusCode, 404)
    assert.equal(missing.body.error.type, 'resource_not_found_exception')
    const deleteAgain = await responseError(() => client().connector.syncJobDelete({ connector_sync_job_id: jobId }))
    assert.equal(deleteAgain.statusCode, 404)

    await client().connector.delete({ connector_id: connectorId, hard: true, delete_sync_jobs: true })
    assert.equal(await stored(JOBS, second), null)
  })

  it('claims a sync job, updates its stats, checks it in and fails it', async () => {
    const connectorId = unique('worker')
    await client().connector.put({ connector_id: connectorId, index_name: unique('search'), service_type: 'mongodb' })
    const jobId = (await client().connector.syncJobPost({ id: connectorId, job_type: 'full' })).id

    // The client declares the answers of claim, update_stats, check_in and error as `{}`;
    // Elasticsearch answers {"result":"updated"}, and Elasticsearch's answer is the one checked.
    const claimed = await client().connector.syncJobClaim({ connector_sync_job_id: jobId, worker_hostname: 'js-worker', sync_cursor: { page: 1 } })
    assert.deepEqual(claimed, { result: 'updated' })
    const claimAgain = await responseError(() => client().connector.syncJobClaim({ connector_sync_job_id: jobId, worker_hostname: 'other-worker' }))
    assert.equal(claimAgain.statusCode, 400)
    assert.equal(claimAgain.body.error.type, 'status_exception')

    const stats = await client().connector.syncJobUpdateStats({
      connector_sync_job_id: jobId,
      deleted_document_count: 1,
      indexed_document_count: 10,
      indexed_document_volume: 100,
      total_document_count: 12,
      metadata: { batch: 1 }
    })
    assert.deepEqual(stats, { result: 'updated' })
    assert.deepEqual(await client().connector.syncJobCheckIn({ connector_sync_job_id: jobId }), { result: 'updated' })

    let job = await client().connector.syncJobGet({ connector_sync_job_id: jobId })
    assert.equal(job.status, 'in_progress')
    assert.equal(job.worker_hostname, 'js-worker')
    assert.ok(job.started_at)
    assert.deepEqual(job.connector.sync_cursor, { page: 1 })
    assert.deepEqual([job.deleted_document_count, job.indexed_document_count, job.indexed_document_volume, job.total_document_count], [1, 10, 100, 12])
    assert.deepEqual(job.metadata, { batch: 1 })

    assert.deepEqual(await client().connector.syncJobCancel({ connector_sync_job_id: jobId }), { result: 'updated' })
    assert.equal((await client().connector.syncJobGet({ connector_sync_job_id: jobId })).status, 'canceling')
    assert.deepEqual(await client().connector.syncJobError({ connector_sync_job_id: jobId, error: 'disk full' }), { result: 'updated' })
    job = await client().connector.syncJobGet({ connector_sync_job_id: jobId })
    assert.deepEqual([job.status, job.error], ['error', 'disk full'])
    const errorAgain = await responseError(() => client().connector.syncJobCancel({ connector_sync_job_id: jobId }))
    assert.equal(errorAgain.statusCode, 400)
    assert.equal(errorAgain.body.error.type, 'status_exception')

    const missing = unique('missing-job')
    for (const action of [
      () => client().connector.syncJobCheckIn({ connector_sync_job_id: missing }),
      () => client().connector.syncJobClaim({ connector_sync_job_id: missing, worker_hostname: 'h' }),
      () => client().connector.syncJobError({ connector_sync_job_id: missing, error: 'e' }),
      () => client().connector.syncJobUpdateStats({ connector_sync_job_id: missing, deleted_document_count: 0, indexed_document_count: 0, indexed_document_volume: 0 }),
      () => client().connector.syncJobCancel({ connector_sync_job_id: missing })
    ]) {
      const error = await responseError(action)
      assert.equal(error.statusCode, 404)
      assert.equal(error.body.error.type, 'resource_not_found_exception')
    }

    await client().connector.delete({ connector_id: connectorId, hard: true, delete_sync_jobs: true })
    assert.equal(await stored(JOBS, jobId), null)
  })
}

module.exports = { connectorMethodTests }
