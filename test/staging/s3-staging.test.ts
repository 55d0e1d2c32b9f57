import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Queue } from 'bullmq'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { loadConfig, type Config } from '../../src/config.ts'
import { UPLOAD_QUEUE } from '../../src/queue/upload-jobs.ts'
import { openStagingArea, type StagingArea } from '../../src/staging/staging-area.ts'
import { REQUEUE_AGE_MS, sweepStaging } from '../../src/worker/staging-janitor.ts'
import { openDatabase } from '../../src/models/connect.ts'
import { waitFor } from '../../scripts/lib/wait-for.ts'
import { build, startWorker } from '../helpers/build.ts'
import { s3StagingEnv, testEnv } from '../helpers/config.ts'
import { fakeJpeg, randomPng } from '../helpers/images.ts'
import { uploadForm } from '../helpers/multipart.ts'
import { stagedFiles } from '../helpers/queue.ts'

// STAGING=s3 against a real S3 server (versitygw, started by `npm test`). The API and the worker
// get staging directories of their own, as on two machines: the bytes can only travel by S3.

async function objects (area: StagingArea): Promise<string[]> {
  const names: string[] = []
  for await (const entry of area.entries()) names.push(entry.name)
  return names.sort()
}

async function s3Setup (t: Test, overrides: Record<string, string> = {}): Promise<{ api: Config, worker: Config, dataDir: string, area: StagingArea }> {
  const { config: api, env, dataDir } = await testEnv(t, { ...s3StagingEnv(), ...overrides })
  const worker = loadConfig({ ...env, STAGING_DIR: join(dataDir, '..', 'worker-staging') })
  const area = await openStagingArea(api, err => { throw err })
  t.teardown(() => area.close())
  return { api, worker, dataDir, area }
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
  t.same(await objects(area), [], 'the bucket holds nothing once the files are stored')
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
  // No worker yet: the upload is accepted (202), its bytes and manifest in the bucket.
  const content = randomPng(2500)
  const res = await app.inject({ method: 'POST', url: '/api/upload/', ...uploadForm('5559876', [{ filename: 'kept.png', content }]) })
  t.equal(res.statusCode, 202, res.body)
  const uploadId = res.json().results[0].upload_id as string
  t.same(await objects(area), [uploadId, `${uploadId}.json`], 'bytes and manifest are in the bucket')

  // Redis loses the job.
  const queue = new Queue(UPLOAD_QUEUE, { connection: { url: api.redisUrl }, prefix: api.queuePrefix })
  t.teardown(() => queue.close())
  await queue.obliterate({ force: true })
  t.equal(await queue.getJob(uploadId), undefined)

  // The worker's sweep (on another machine) finds the manifest and queues the job again.
  const db = await openDatabase(worker.mongodbUrl)
  t.teardown(() => db.connection.close())
  const settings = { idleTimeoutMs: worker.upload.idleTimeoutMs, failedRetentionMs: worker.worker.failedStagedRetentionMs }
  await sweepStaging(area, queue, pino({ level: 'silent' }), settings, Date.now() + REQUEUE_AGE_MS + 1000, { images: db.images, attempts: 3 })
  t.ok(await queue.getJob(uploadId), 'queued again under the same upload id')
  await startWorker(t, worker)

  const status = await waitFor(async () => {
    const answer = (await app.inject({ method: 'GET', url: `/api/uploads/${uploadId}` })).json()
    return answer.status === 'uploaded' ? answer as { filename: string } : undefined
  }, { what: 'the upload to be stored' })
  t.same(await readFile(join(dataDir, '5559876', status.filename)), content, 'stored, with its bytes')
  t.same(await objects(area), [], 'and gone from the bucket')
})
