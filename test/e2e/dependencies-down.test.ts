import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startFerretDB, startRedis } from '../../scripts/lib/services.ts'
import { build, startWorker } from '../helpers/build.ts'
import { testEnv } from '../helpers/config.ts'
import { randomPng } from '../helpers/images.ts'
import { uploadForm } from '../helpers/multipart.ts'
import { stagedFiles } from '../helpers/queue.ts'
import { waitFor } from '../../scripts/lib/wait-for.ts'

// These tests stop and restart servers, so they use their own instead of the suite's.

t.test('Redis down: uploads answer 503 at once, nothing is staged, and the service recovers', async t => {
  const redis = await startRedis()
  let current = redis
  // Registered first, so it runs last: the app and worker close while Redis is still up.
  t.teardown(() => current.stop())
  const { config } = await testEnv(t, { REDIS_URL: redis.url })
  const app = await build(t, config)
  await startWorker(t, config)
  const port = Number(new URL(redis.url).port)

  await redis.stop()
  const started = Date.now()
  const res = await app.inject({ method: 'POST', url: '/api/upload/', ...uploadForm('123', [{ filename: 'a.png', content: randomPng() }]) })
  t.equal(res.statusCode, 503)
  t.equal(res.json().message, 'The upload service is temporarily unavailable. Please retry shortly.')
  t.ok(res.headers['retry-after'])
  t.ok(Date.now() - started < 5000, 'fails fast instead of hanging')
  t.same(await stagedFiles(config), [])
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 503)
  const status = await app.inject({ method: 'GET', url: '/api/uploads/6761a2f5c3b1e24d8f0a9b7c' })
  t.equal(status.statusCode, 503, 'the status lookup says unavailable, not a bare 500')

  current = await startRedis({ port })
  const ok = await waitFor(async () => (await app.inject({ method: 'GET', url: '/health' })).statusCode === 200, { what: 'health once Redis is back' })
  t.ok(ok, 'healthy again once Redis is back')
  const retry = await app.inject({ method: 'POST', url: '/api/upload/', ...uploadForm('123', [{ filename: 'a.png', content: randomPng() }]) })
  t.equal(retry.statusCode, 200, retry.body)
})

t.test('MongoDB down: lookups answer 503, and an accepted upload is stored once it is back', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'mongo-down-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const ferret = await startFerretDB(dir, 'down')
  const port = Number(new URL(ferret.url).port)
  let current = ferret
  t.teardown(() => current.stop())
  const { config } = await testEnv(t, { MONGODB_URL: ferret.url, UPLOAD_WAIT_MS: '2000' })
  const app = await build(t, config)
  await startWorker(t, config)
  const content = randomPng()

  await ferret.stop()
  const lookup = await app.inject({ method: 'GET', url: '/api/get-phone/?phone_number=123' })
  t.equal(lookup.statusCode, 503)
  t.equal(lookup.json().message, 'The service is temporarily unavailable. Please retry shortly.')

  // The upload is accepted (staged and queued); the worker cannot record it yet.
  const res = await app.inject({ method: 'POST', url: '/api/upload/', ...uploadForm('123', [{ filename: 'a.png', content }]) })
  t.equal(res.statusCode, 202, res.body)
  const id = res.json().results[0].upload_id

  current = await startFerretDB(dir, 'down', { port })
  const status = await waitFor(async () => {
    const res = await app.inject({ method: 'GET', url: `/api/uploads/${id}` })
    return res.statusCode === 200 && res.json().status === 'uploaded' && res.json()
  }, { what: 'the upload to be stored after MongoDB came back', timeoutMs: 60_000 })
  t.equal(status?.status, 'uploaded', 'stored after MongoDB came back')
  const file = await app.inject({ method: 'GET', url: new URL(status.image_url).pathname })
  t.same(file.rawPayload, content)
  t.equal(await app.db.images.countDocuments({ phone_number: '123' }), 1)
})
