import { readdir, rm, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Queue, UnrecoverableError, Worker } from 'bullmq'
import { pino } from 'pino'
import t from 'tap'
import { openDatabase } from '../../src/models/connect.ts'
import { recordId } from '../../src/models/image.ts'
import { UPLOAD_QUEUE } from '../../src/queue/upload-jobs.ts'
import { writeManifest } from '../../src/staging/manifest.ts'
import { ensureDir } from '../../src/staging/staged-files.ts'
import { directoryArea } from '../../src/staging/staging-area.ts'
import { ORPHAN_AGE_MS, PARTIAL_MARGIN_MS, sweepStaging } from '../../src/worker/staging-janitor.ts'
import { testEnv } from '../helpers/config.ts'

const DAY_MS = 24 * 3600 * 1000
const settings = { idleTimeoutMs: 30_000, failedRetentionMs: 7 * DAY_MS }
const silent = pino({ level: 'silent' })

t.test('only old staged files that no job will read are removed', async t => {
  const { config } = await testEnv(t)
  const queue = new Queue(UPLOAD_QUEUE, { connection: { url: config.redisUrl }, prefix: config.queuePrefix })
  t.teardown(() => queue.close())
  await ensureDir(config.stagingDir)
  const old = new Date(Date.now() - ORPHAN_AGE_MS - 60_000)
  const stage = async (name: string, mtime?: Date) => {
    const path = join(config.stagingDir, name)
    await writeFile(path, 'x')
    if (mtime) await utimes(path, mtime, mtime)
  }
  await stage('old-orphan', old)
  await stage('fresh-orphan')
  await stage('old-waiting', old)
  await stage('old-failed', old)
  await stage('old-completed', old)
  // A worker that completes one job and fails the other for good.
  const worker = new Worker(UPLOAD_QUEUE, async job => {
    if (job.id === 'old-failed') throw new UnrecoverableError('gave up')
    return {}
  }, { connection: { url: config.redisUrl }, prefix: config.queuePrefix, autorun: false })
  t.teardown(() => worker.close())
  await queue.add('upload', {}, { jobId: 'old-failed' })
  await queue.add('upload', {}, { jobId: 'old-completed' })
  const settled = new Promise<void>(resolve => {
    let n = 0
    const done = () => { if (++n === 2) resolve() }
    worker.on('failed', done)
    worker.on('completed', done)
  })
  void worker.run()
  await settled
  await worker.close()
  await queue.add('upload', {}, { jobId: 'old-waiting' })

  // Manifests share their file's fate: the waiting job's stays, the orphan's goes.
  await stage('old-waiting.json', old)
  await stage('old-orphan.json', old)

  const removed = await sweepStaging(directoryArea(config.stagingDir), queue, silent, settings)
  t.same(removed.sort(), ['old-completed', 'old-orphan', 'old-orphan.json'])
  t.equal(await (await queue.getJob('old-failed'))!.getState(), 'failed')
  t.same((await readdir(config.stagingDir)).sort(), ['fresh-orphan', 'old-failed', 'old-waiting', 'old-waiting.json'])

  // A failed job keeps its file for the retention, counted from its failure (days later, the
  // waiting job's file is all that would also go: drop it from the picture).
  await queue.remove('old-waiting')
  await rm(join(config.stagingDir, 'fresh-orphan'))
  const failedOn = (await queue.getJob('old-failed'))!.finishedOn!
  t.same(await sweepStaging(directoryArea(config.stagingDir), queue, silent, settings, failedOn + settings.failedRetentionMs - 60_000).then(r => r.sort()), ['old-waiting', 'old-waiting.json'])
  t.same(await sweepStaging(directoryArea(config.stagingDir), queue, silent, settings, failedOn + settings.failedRetentionMs), ['old-failed'])
})

t.test('a partial file left by a crash is removed once idle longer than the upload idle timeout, whatever its job', async t => {
  const { config } = await testEnv(t)
  const queue = new Queue(UPLOAD_QUEUE, { connection: { url: config.redisUrl }, prefix: config.queuePrefix })
  t.teardown(() => queue.close())
  await ensureDir(config.stagingDir)
  const stale = new Date(Date.now() - settings.idleTimeoutMs - PARTIAL_MARGIN_MS - 1000)
  for (const name of ['stale.partial', 'waiting-job.partial', 'receiving.partial']) await writeFile(join(config.stagingDir, name), 'x')
  for (const name of ['stale.partial', 'waiting-job.partial']) await utimes(join(config.stagingDir, name), stale, stale)
  // Even a job of the same id does not keep a partial file: a whole file never has that name.
  await queue.add('upload', {}, { jobId: 'waiting-job' })

  const removed = await sweepStaging(directoryArea(config.stagingDir), queue, silent, settings)
  t.same(removed.sort(), ['stale.partial', 'waiting-job.partial'])
  t.same(await readdir(config.stagingDir), ['receiving.partial'], 'a partial file still growing stays')
})

t.test('an accepted file whose job Redis lost is queued again from its manifest, never removed', async t => {
  const { config } = await testEnv(t)
  const queue = new Queue(UPLOAD_QUEUE, { connection: { url: config.redisUrl }, prefix: config.queuePrefix })
  t.teardown(() => queue.close())
  const db = await openDatabase(config.mongodbUrl)
  t.teardown(() => db.connection.close())
  await ensureDir(config.stagingDir)
  const old = new Date(Date.now() - ORPHAN_AGE_MS - 60_000)
  const accepted = async (id: string, mtime: Date) => {
    const path = join(config.stagingDir, id)
    await writeFile(path, 'bytes')
    const job = { uploadId: id, phoneNumber: '123', fileName: `2024-12-17_12:30:45_${id}.png`, originalName: `${id}.png`, stagedPath: path, size: 5, contentType: 'image/png', contentHash: 'h', receivedAt: mtime.toISOString() }
    await writeManifest(path, { job, acceptedAt: mtime.toISOString() })
    for (const p of [path, `${path}.json`]) await utimes(p, mtime, mtime)
  }
  const lost = '6761a2f5c3b1e24d8f0a9b01'
  const recorded = '6761a2f5c3b1e24d8f0a9b02'
  const justAccepted = '6761a2f5c3b1e24d8f0a9b03'
  await accepted(lost, old)
  await accepted(recorded, old)
  await accepted(justAccepted, new Date())
  // Stored and recorded before its job vanished: nothing left to do but clean up.
  await db.images.collection.insertOne({ _id: recordId(recorded), phone_number: '123', file_name: 'x.png', image_url: 'u', uploaded_at: old, storage: 'local', storage_path: '/123/x.png', size: 5, content_type: 'image/png', content_hash: 'h' })

  const removed = await sweepStaging(directoryArea(config.stagingDir), queue, silent, settings, Date.now(), { images: db.images, attempts: 3 })
  t.same(removed.sort(), [recorded, `${recorded}.json`], 'only the recorded upload is cleaned up')
  const job = await queue.getJob(lost)
  t.ok(job, 'the lost job is queued again under the same upload id')
  t.equal(job!.data.stagedPath, join(config.stagingDir, lost))
  t.equal(await queue.getJob(justAccepted), undefined, 'a file just accepted is left to its request')
  t.same((await readdir(config.stagingDir)).sort(), [lost, `${lost}.json`, justAccepted, `${justAccepted}.json`].sort())
})
