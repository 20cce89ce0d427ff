'use strict'
// The connector secrets API (`client.connector.secret*`) with Elasticsearch's answers: POST
// stores a value under a generated id, PUT under a given one (201 created, then 200 updated),
// GET reads it back, DELETE removes it, and a missing secret is a 404.

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')
const { client, responseError, unique } = require('./helpers')

describe('connector secrets', () => {
  const es = client()

  it('posts, gets and deletes a secret', async () => {
    const value = unique('value')
    const posted = await es.connector.secretPost({ value }, { meta: true })
    assert.equal(posted.statusCode, 200)
    assert.deepEqual(Object.keys(posted.body), ['id'])
    const id = posted.body.id
    assert.deepEqual(await es.connector.secretGet({ id }), { id, value })
    assert.deepEqual(await es.connector.secretDelete({ id }), { deleted: true })
    const gone = await responseError(() => es.connector.secretGet({ id }))
    assert.equal(gone.statusCode, 404)
    assert.equal(gone.body.error.type, 'resource_not_found_exception')
  })

  it('puts a secret under its own id, then replaces it', async () => {
    const id = unique('secret')
    const created = await es.connector.secretPut({ id, value: 'first' }, { meta: true })
    assert.equal(created.statusCode, 201)
    assert.deepEqual(created.body, { result: 'created' })
    const updated = await es.connector.secretPut({ id, value: 'second' }, { meta: true })
    assert.equal(updated.statusCode, 200)
    assert.deepEqual(updated.body, { result: 'updated' })
    assert.deepEqual(await es.connector.secretGet({ id }), { id, value: 'second' })
    assert.deepEqual(await es.connector.secretDelete({ id }), { deleted: true })
  })

  it('answers a missing secret and an empty value with the client\'s ResponseError', async () => {
    const id = unique('missing')
    for (const action of [() => es.connector.secretGet({ id }), () => es.connector.secretDelete({ id })]) {
      const missing = await responseError(action)
      assert.equal(missing.statusCode, 404)
      assert.equal(missing.body.error.type, 'resource_not_found_exception')
    }
    const empty = await responseError(() => es.connector.secretPost({ value: '' }))
    assert.equal(empty.statusCode, 400)
    assert.equal(empty.body.error.type, 'action_request_validation_exception')
  })
})
