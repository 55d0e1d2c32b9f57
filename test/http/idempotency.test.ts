import { readdir } from 'node:fs/promises'
import { Redis } from 'ioredis'
import t from 'tap'
import { waitFor } from '../../scripts/lib/wait-for.ts'
import { build, startWorker } from '../helpers/build.ts'
import { testEnv } from '../helpers/config.ts'
import { randomPng } from '../helpers/images.ts'
import { uploadForm } from '../helpers/multipart.ts'
import { jobCount, stagedFiles } from '../helpers/queue.ts'

const upload = (phone: string, files: Array<{ filename: string, content: Buffer }>, key?: string) => {
  const form = uploadForm(phone, files)
  return { method: 'POST' as const, url: '/api/upload/', payload: form.payload, headers: { ...form.headers, ...(key !== undefined ? { 'idempotency-key': key } : {}) } }
}

async function storedFiles (dataDir: string, phone: string): Promise<string[]> {
  return readdir(`${dataDir}/${phone}`).catch(() => [])
}

t.test('a retry with the same key after a 200 gets the same answer and stores nothing new', async t => {
  const { config, dataDir } = await testEnv(t)
  const app = await build(t, config)
  await startWorker(t, config)
  const files = [{ filename: 'a.png', content: randomPng() }, { filename: 'b.png', content: randomPng() }]

  const first = await app.inject(upload('5551234', files, 'retry-1'))
  t.equal(first.statusCode, 200, first.body)
  const jobsAfterFirst = await jobCount(config)
  const again = await app.inject(upload('5551234', files, 'retry-1'))
  t.equal(again.statusCode, 200)
  t.same(again.json(), first.json(), 'the same JSON, upload ids included')
  t.equal(await app.db.images.countDocuments({ phone_number: '5551234' }), 2, 'two records, not four')
  t.equal((await storedFiles(dataDir, '5551234')).length, 2, 'two stored files, not four')
  t.equal(await jobCount(config), jobsAfterFirst, 'no new job')
  t.same(await stagedFiles(config), [], "the retry's staged bytes are gone")

  // Without a key, the same request is a new upload (the contract's behaviour).
  const fresh = await app.inject(upload('5551234', files))
  t.equal(fresh.statusCode, 200)
  t.not(fresh.json().results[0].upload_id, first.json().results[0].upload_id)
})

t.test('the same key with another request is refused with 422, and a malformed key with 400', async t => {
  const { config } = await testEnv(t)
  const app = await build(t, config)
  await startWorker(t, config)
  const content = randomPng()
  t.equal((await app.inject(upload('777', [{ filename: 'a.png', content }], 'k'))).statusCode, 200)

  for (const [name, request] of [
    ['other content', upload('777', [{ filename: 'a.png', content: randomPng() }], 'k')],
    ['other name', upload('777', [{ filename: 'b.png', content }], 'k')],
    ['another file added', upload('777', [{ filename: 'a.png', content }, { filename: 'c.png', content }], 'k')]
  ] as const) {
    const res = await app.inject(request)
    t.equal(res.statusCode, 422, name)
    t.match(res.json().message, /already used for a different upload/, name)
  }
  // Keys are scoped per phone number: another number may use the same key.
  t.equal((await app.inject(upload('778', [{ filename: 'a.png', content }], 'k'))).statusCode, 200, 'another phone number, same key')

  for (const key of ['', 'x'.repeat(256), 'tab\tkey', 'ünïcode']) {
    const res = await app.inject(upload('777', [{ filename: 'a.png', content }], key))
    t.equal(res.statusCode, 400, JSON.stringify(key))
  }
  t.same(await stagedFiles(config), [], 'nothing staged by refused requests')
})

t.test('a retry while the first request still waits gets the same uploads, and both answers match', async t => {
  const { config } = await testEnv(t)
  const app = await build(t, config)
  const files = [{ filename: 'slow.png', content: randomPng() }]

  // No worker yet: the first request waits on its queued job.
  const first = app.inject(upload('900', files, 'concurrent'))
  await waitFor(async () => (await app.uploadQueue.queue.getWaitingCount()) === 1, { what: 'the first upload to be queued' })
  const retry = app.inject(upload('900', files, 'concurrent'))
  await startWorker(t, config)
  const [a, b] = await Promise.all([first, retry])
  t.equal(a.statusCode, 200, a.body)
  t.same(b.json(), a.json(), 'the retry answers exactly as the first request')
  t.equal(await app.db.images.countDocuments({ phone_number: '900' }), 1)
  t.same(await stagedFiles(config), [])
})

t.test("a job lost with Redis's data is queued again from its manifest: the waiting client still gets its 200", async t => {
  const { config, dataDir } = await testEnv(t)
  const app = await build(t, config)
  const content = randomPng()

  const waiting = app.inject(upload('31337', [{ filename: 'lost.png', content }]))
  await waitFor(async () => (await app.uploadQueue.queue.getWaitingCount()) === 1, { what: 'the upload to be queued' })
  const [job] = await app.uploadQueue.queue.getWaiting()
  // What a Redis restarted without its data leaves: none of this queue's keys.
  const redis = new Redis(config.redisUrl)
  t.teardown(() => redis.quit())
  const keys = await redis.keys(`${config.queuePrefix}:*`)
  await redis.del(...keys)
  t.equal(await app.uploadQueue.queue.getJob(job!.id!), undefined, 'the job is gone from Redis')

  const status = await app.inject({ method: 'GET', url: `/api/uploads/${job!.id}` })
  t.equal(status.statusCode, 200, 'the status URL still knows the upload')
  t.equal(status.json().status, 'pending')

  await startWorker(t, config)
  const res = await waiting
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.json().results[0].upload_id, job!.id, 'the same upload id')
  t.same(await storedFiles(dataDir, '31337'), [res.json().results[0].filename], 'stored once')
  t.equal(await app.db.images.countDocuments({ phone_number: '31337' }), 1, 'recorded once')
  t.same(await stagedFiles(config), [], 'staged bytes and manifest removed once stored')
})
