import { createHash } from 'node:crypto'
import { readdir, readFile, utimes, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { CreateMultipartUploadCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { loadConfig, type Config } from '../../src/config.ts'
import { UPLOAD_QUEUE } from '../../src/queue/upload-jobs.ts'
import { ResumableStore } from '../../src/staging/resumable-store.ts'
import { s3Client } from '../../src/staging/s3-staging.ts'
import { SCRATCH_MAX_AGE_MS, sweepScratch } from '../../src/staging/scratch.ts'
import { ensureDir } from '../../src/staging/staged-files.ts'
import { openStagingArea, type StagingArea } from '../../src/staging/staging-area.ts'
import { REQUEUE_AGE_MS, sweepStaging } from '../../src/worker/staging-janitor.ts'
import { openDatabase } from '../../src/models/connect.ts'
import { freePort } from '../../scripts/lib/services.ts'
import { waitFor } from '../../scripts/lib/wait-for.ts'
import { build, startWorker } from '../helpers/build.ts'
import { s3StagingEnv, testEnv } from '../helpers/config.ts'
import { fakeJpeg, randomPng } from '../helpers/images.ts'
import { uploadForm } from '../helpers/multipart.ts'
import { jobCount, stagedFiles } from '../helpers/queue.ts'
import { tusCreate, tusCreated, tusOffset, tusPatch } from '../helpers/tus.ts'

// STAGING=s3 against a real S3 server (versitygw, started by `npm test`). The API and the worker
// get staging directories of their own, as on two machines: the bytes can only travel by S3.

async function objects (area: StagingArea): Promise<string[]> {
  const names: string[] = []
  for await (const entry of area.entries()) names.push(entry.name)
  return names.sort()
}

/** Every key in the bucket, the resumable uploads' (at its top level) included. */
async function bucketKeys (config: Config): Promise<string[]> {
  const client = s3Client(config.s3Staging!)
  try {
    const { Contents } = await client.send(new ListObjectsV2Command({ Bucket: config.s3Staging!.bucket }))
    const { Uploads } = await client.send(new ListMultipartUploadsCommand({ Bucket: config.s3Staging!.bucket }))
    return [...(Contents ?? []).map(o => o.Key!), ...(Uploads ?? []).map(u => `multipart upload of ${u.Key}`)].sort()
  } finally {
    client.destroy()
  }
}

async function s3Setup (t: Test, overrides: Record<string, string> = {}): Promise<{ api: Config, worker: Config, env: Record<string, string>, dataDir: string, area: StagingArea }> {
  const { config: api, env, dataDir } = await testEnv(t, { ...s3StagingEnv(), ...overrides })
  const worker = loadConfig({ ...env, STAGING_DIR: join(dataDir, '..', 'worker-staging') })
  const area = await openStagingArea(api, err => { throw err })
  t.teardown(() => area.close())
  return { api, worker, env, dataDir, area }
}

t.test('STAGING=s3: files reach the worker through the bucket, and nothing stays behind', async t => {
  const { api, worker, dataDir, area } = await s3Setup(t)
  const app = await build(t, api)
  await startWorker(t, worker)
  // Above the multipart threshold (16 MiB): sent to S3 in parts.
  const files = [randomPng(3000), fakeJpeg(5000), fakeJpeg(17 * 1024 * 1024)]
  const res = await app.inject({
    method: 'POST',
    url: '/api/upload/',
    ...uploadForm('5551234', files.map((content, i) => ({ filename: `photo${i}.${i === 0 ? 'png' : 'jpg'}`, content })))
  })
  t.equal(res.statusCode, 200, res.body)
  const results = res.json().results as Array<{ filename: string, status: string }>
  for (const [i, content] of files.entries()) {
    t.equal(results[i]!.status, 'uploaded')
    t.same(await readFile(join(dataDir, '5551234', results[i]!.filename)), content, `file ${i}: the stored bytes are the sent ones`)
  }
  t.same(await bucketKeys(api), [], 'the bucket holds nothing once the files are stored')
  t.same(await stagedFiles(api), [], 'nor does the API\'s scratch directory')
  t.same(await stagedFiles(worker), [], 'nor the worker\'s')

  const refused = await app.inject({ method: 'POST', url: '/api/upload/', ...uploadForm('5551234', [{ filename: 'notes.png', content: Buffer.from('not an image at all, only text') }]) })
  t.equal(refused.statusCode, 415, refused.body)
  t.same(await objects(area), [], 'a refused file never reaches the bucket')
  t.same(await stagedFiles(api), [])
})

t.test('STAGING=s3: a job Redis lost comes back from its manifest in the bucket', async t => {
  const { api, worker, dataDir, area } = await s3Setup(t, { UPLOAD_WAIT_MS: '1000' })
  const app = await build(t, api)
  // No worker yet: the uploads are accepted (202), bytes and manifests in the bucket. A manifest
  // travels as its object's metadata, or, too long for S3's 2 KB (a very long original name),
  // as an object of its own.
  const files = [{ filename: 'kept.png', content: randomPng(2500) }, { filename: `${'a very long name '.repeat(90)}.png`, content: randomPng(2600) }]
  const res = await app.inject({ method: 'POST', url: '/api/upload/', ...uploadForm('5559876', files) })
  t.equal(res.statusCode, 202, res.body)
  const [short, long] = (res.json().results as Array<{ upload_id: string }>).map(r => r.upload_id) as [string, string]
  t.same(await objects(area), [short, long, `${long}.json`].sort(), 'bytes with their manifest, or beside it')

  // Redis loses the jobs.
  const queue = new Queue(UPLOAD_QUEUE, { connection: { url: api.redisUrl }, prefix: api.queuePrefix })
  t.teardown(() => queue.close())
  await queue.obliterate({ force: true })
  t.equal(await queue.getJob(short), undefined)

  // The worker's sweep (on another machine) finds the manifests and queues the jobs again.
  const db = await openDatabase(worker.mongodbUrl)
  t.teardown(() => db.connection.close())
  const settings = { idleTimeoutMs: worker.upload.idleTimeoutMs, failedRetentionMs: worker.worker.failedStagedRetentionMs }
  await sweepStaging(area, queue, pino({ level: 'silent' }), settings, Date.now() + REQUEUE_AGE_MS + 1000, { images: db.images, attempts: 3 })
  t.ok(await queue.getJob(short), 'queued again under the same upload id')
  t.ok(await queue.getJob(long), 'the one with its manifest beside it too')
  await startWorker(t, worker)

  for (const [i, uploadId] of [short, long].entries()) {
    const status = await waitFor(async () => {
      const answer = (await app.inject({ method: 'GET', url: `/api/uploads/${uploadId}` })).json()
      return answer.status === 'uploaded' ? answer as { filename: string } : undefined
    }, { what: 'the upload to be stored' })
    t.same(await readFile(join(dataDir, '5559876', status.filename)), files[i]!.content, 'stored, with its bytes')
  }
  t.same(await objects(area), [], 'and gone from the bucket')
})

/** The app listening on a free port (tus reads the raw request). */
async function listening (t: Test, config: Config): Promise<string> {
  const app = await build(t, config)
  await app.listen({ port: 0, host: '127.0.0.1' })
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

t.test('STAGING=s3: a resumable upload resumes through another API process, and nothing stays behind', async t => {
  const { api, worker, env, dataDir } = await s3Setup(t)
  // A second API process, on another machine: its own staging directory.
  const otherApi = loadConfig({ ...env, STAGING_DIR: join(dataDir, '..', 'api-2-staging') })
  const [first, second] = [await listening(t, api), await listening(t, otherApi)]
  await startWorker(t, worker)
  const content = fakeJpeg(6 * 1024 * 1024 + 123)
  const sha1 = (bytes: Buffer): string => createHash('sha1').update(bytes).digest('base64')

  const location = await tusCreated(first, { phone: '5550001', filename: 'trip.jpg', length: content.length })
  const half = 3 * 1024 * 1024
  t.equal((await tusPatch(first + location, 0, content.subarray(0, half))).status, 204, 'the first half through one API')
  t.same(await tusOffset(second + location), { status: 200, offset: half }, 'the other API sees the offset')
  // A body that does not match its checksum is discarded before any of it reaches the bucket.
  const bad = await tusPatch(second + location, half, content.subarray(half), { 'Upload-Checksum': `sha1 ${sha1(Buffer.from('other'))}` })
  t.equal(bad.status, 460)
  t.same(await tusOffset(first + location), { status: 200, offset: half }, 'the offset did not move')

  const last = await tusPatch(second + location, half, content.subarray(half), { 'Upload-Checksum': `sha1 ${sha1(content.subarray(half))}` })
  t.equal(last.status, 200, 'the rest through the other API, which answers as POST /api/upload/ would')
  const result = (await last.json() as { results: Array<{ filename: string, status: string }> }).results[0]!
  t.equal(result.status, 'uploaded')
  t.same(await readFile(join(dataDir, '5550001', result.filename)), content, 'the stored bytes are the sent ones')
  t.same(await bucketKeys(api), [], 'the bucket holds nothing once the file is stored: neither staged nor resumable objects')
})

t.test('STAGING=s3: what dead or silent clients and processes leave in the bucket is swept', async t => {
  const { api, area } = await s3Setup(t)
  const base = await listening(t, api)
  const settings = api.s3Staging!
  const client = s3Client(settings)
  t.teardown(() => client.destroy())

  // An API that died while sending a large file leaves a multipart upload open.
  await client.send(new CreateMultipartUploadCommand({ Bucket: settings.bucket, Key: `${settings.prefix}6761a2f5c3b1e24d8f0a9b77` }))
  t.equal(await area.abortAbandoned!(60 * 60 * 1000), 0, 'a recent one is left alone: its API may still be sending')
  t.equal(await area.abortAbandoned!(0), 1, 'an old one is aborted')

  // A resumable upload its client never finished: state and bytes go after RESUMABLE_UPLOAD_TTL.
  const location = await tusCreated(base, { phone: '5550002', filename: 'left.jpg', length: 6 * 1024 * 1024 })
  t.equal((await tusPatch(base + location, 0, fakeJpeg(1024 * 1024))).status, 204)
  t.not(await bucketKeys(api), [], 'its bytes are in the bucket')
  const redis = new Redis(api.redisUrl)
  t.teardown(() => redis.disconnect())
  const store = ResumableStore.fromConfig(api, redis)
  t.teardown(() => store.close())
  t.equal(await store.deleteExpired(Date.now() + api.upload.resumableTtlMs + 1000), 1, 'the expired upload is removed')
  t.same(await bucketKeys(api), [], 'nothing of it is left in the bucket')
  t.equal((await tusOffset(base + location)).status, 404, 'and it is unknown')

  // The scratch directory: files older than an hour were left by a process that died.
  await ensureDir(api.stagingDir)
  const old = new Date(Date.now() - SCRATCH_MAX_AGE_MS - 1000)
  await writeFile(join(api.stagingDir, 'left-by-a-crash'), 'x')
  await utimes(join(api.stagingDir, 'left-by-a-crash'), old, old)
  await writeFile(join(api.stagingDir, 'being-received.partial'), 'x')
  t.equal(await sweepScratch(api.stagingDir), 1)
  t.same(await readdir(api.stagingDir), ['being-received.partial'], 'a file in use stays')
})

t.test('STAGING=s3 with S3 unreachable: readiness says so, an upload gets 503 and leaves nothing behind', async t => {
  const { config } = await testEnv(t, { ...s3StagingEnv(), S3_ENDPOINT: `http://127.0.0.1:${await freePort()}` })
  const app = await build(t, config)
  const ready = await app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(ready.statusCode, 503)
  t.equal(ready.json().checks.staging, 'unreachable')
  const res = await app.inject({ method: 'POST', url: '/api/upload/', ...uploadForm('5550003', [{ filename: 'a.png', content: randomPng(2000) }]) })
  t.equal(res.statusCode, 503, res.body)
  t.equal(res.headers['retry-after'], '5')
  t.same(res.json(), { message: 'The service is temporarily unavailable. Please retry shortly.' })
  t.same(await stagedFiles(config), [], 'the received file is gone from the scratch directory')
  t.equal(await jobCount(config), 0, 'nothing queued')
  // A resumable upload cannot start either: its bytes would grow in the bucket.
  const tus = await tusCreate(await listening(t, config), { length: 2000 })
  t.equal(tus.status, 503)
  t.same(await tus.json(), { message: 'The service is temporarily unavailable. Please retry shortly.' })
})

t.test('STAGING=s3: bytes that changed in the bucket are never stored', async t => {
  const { api, worker, dataDir } = await s3Setup(t, { UPLOAD_WAIT_MS: '1000', JOB_ATTEMPTS: '1' })
  const app = await build(t, api)
  const res = await app.inject({ method: 'POST', url: '/api/upload/', ...uploadForm('5550004', [{ filename: 'kept.png', content: randomPng(2500) }]) })
  t.equal(res.statusCode, 202, res.body)
  const uploadId = res.json().results[0].upload_id as string
  // Something changes the object's bytes (its manifest kept): the worker's copy no longer matches.
  const settings = api.s3Staging!
  const client = s3Client(settings)
  t.teardown(() => client.destroy())
  const key = `${settings.prefix}${uploadId}`
  const { Metadata } = await client.send(new HeadObjectCommand({ Bucket: settings.bucket, Key: key }))
  await client.send(new PutObjectCommand({ Bucket: settings.bucket, Key: key, Body: randomPng(2500), Metadata }))

  await startWorker(t, worker)
  const status = await waitFor(async () => {
    const answer = (await app.inject({ method: 'GET', url: `/api/uploads/${uploadId}` })).json()
    return answer.status === 'pending' ? undefined : answer as { status: string, error: string }
  }, { what: 'the upload to end' })
  t.equal(status.status, 'failed')
  t.match(status.error, /content hash differs/)
  t.same(await readdir(join(dataDir, '5550004')).catch(() => []), [], 'nothing stored')
})
