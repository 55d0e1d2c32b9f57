import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { RateLimitError, UnrecoverableError } from 'bullmq'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { openDatabase } from '../../src/models/connect.ts'
import type { UploadJobData } from '../../src/queue/upload-jobs.ts'
import { createStorage } from '../../src/storage/index.ts'
import { LocalStorage } from '../../src/storage/local.ts'
import { DropboxContentHasher } from '../../src/core/content-hash.ts'
import { ensureDir } from '../../src/staging/staged-files.ts'
import { directoryArea } from '../../src/staging/staging-area.ts'
import { processUpload, type UploadJob } from '../../src/worker/process-upload.ts'
import { RecordWriter } from '../../src/worker/record-writer.ts'
import { testEnv } from '../helpers/config.ts'
import { dropboxEmulator } from '../helpers/dropbox.ts'
import { randomPng } from '../helpers/images.ts'

async function setup (t: Test) {
  const { config } = await testEnv(t)
  const db = await openDatabase(config.mongodbUrl)
  t.teardown(() => db.connection.close())
  await ensureDir(config.stagingDir)
  const storage = new LocalStorage(config.dataDir, config.publicBaseUrl)
  const deps = { storage, staging: directoryArea(config.stagingDir), images: db.images, records: new RecordWriter(db.images), logger: pino({ level: 'silent' }), pauseQueue: async () => {} }
  return { config, db, storage, deps }
}

async function stagedJob (stagingDir: string, id: string, content: Buffer): Promise<UploadJob> {
  const stagedPath = join(stagingDir, id)
  await writeFile(stagedPath, content)
  const data: UploadJobData = {
    uploadId: id,
    phoneNumber: '100',
    fileName: '2024-12-17_12:30:45_a.png',
    originalName: 'a.png',
    stagedPath,
    size: content.length,
    contentType: 'image/png',
    contentHash: new DropboxContentHasher().update(content).digest(),
    receivedAt: new Date().toISOString()
  }
  // What BullMQ's job.updateData does, minus Redis: the data a later attempt starts from.
  const job: UploadJob = { id, data, attemptsStarted: 1, updateData: async (next: UploadJobData) => { job.data = next } }
  return job
}

t.test('a job run twice leaves one file and one record', async t => {
  const { config, db, deps } = await setup(t)
  const content = randomPng()
  const job = await stagedJob(config.stagingDir, '6761a2f5c3b1e24d8f0a9b01', content)

  const first = await processUpload(job, deps)
  // A worker that died after storing but before acknowledging: the same job runs again, its
  // staged file restored as if the removal had not happened.
  await writeFile(job.data.stagedPath, content)
  job.attemptsStarted = 2
  const second = await processUpload(job, deps)

  t.same(second, first)
  t.equal(await db.images.countDocuments({ phone_number: '100' }), 1)
  t.same(await readdir(join(config.dataDir, '100')), ['2024-12-17_12:30:45_a.png'])
  t.same(await readdir(config.stagingDir), [], 'the staged file is removed')
})

t.test('a retry after the file was stored but before the record was written writes one record', async t => {
  const { config, db, storage, deps } = await setup(t)
  const content = randomPng()
  const job = await stagedJob(config.stagingDir, '6761a2f5c3b1e24d8f0a9b02', content)
  // The first attempt got as far as storage.
  await storage.put({ stagedPath: job.data.stagedPath, folder: '100', name: job.data.fileName, size: content.length, contentHash: job.data.contentHash })

  const result = await processUpload(job, deps)
  t.equal(result.fileName, job.data.fileName, 'the same name, not a renamed copy')
  t.equal(await db.images.countDocuments({}), 1)
  t.same(await readdir(join(config.dataDir, '100')), [job.data.fileName])
})

t.test('a job whose staged file is gone fails for good', async t => {
  const { config, deps } = await setup(t)
  const job = await stagedJob(config.stagingDir, '6761a2f5c3b1e24d8f0a9b03', randomPng())
  job.data.stagedPath = join(config.stagingDir, 'missing')
  await t.rejects(processUpload(job, deps), UnrecoverableError)
})

t.test('a Dropbox 429 pauses the whole queue for Retry-After and puts the job back', async t => {
  const { emulator, env } = await dropboxEmulator(t, { rateLimit: { requestsPerSecond: 1, retryAfterSeconds: 2 } })
  const { config } = await testEnv(t, { ...env, DROPBOX_UPLOAD_STRATEGY: 'single' })
  const db = await openDatabase(config.mongodbUrl)
  t.teardown(() => db.connection.close())
  await ensureDir(config.stagingDir)
  const pauses: number[] = []
  const deps = { storage: createStorage(config), staging: directoryArea(config.stagingDir), images: db.images, records: new RecordWriter(db.images), logger: pino({ level: 'silent' }), pauseQueue: async (ms: number) => { pauses.push(ms) } }
  const job = await stagedJob(config.stagingDir, '6761a2f5c3b1e24d8f0a9b04', randomPng())

  // files/upload passes; the shared-link call right after it is over the rate.
  await t.rejects(processUpload(job, deps), RateLimitError)
  t.same(pauses, [2000], 'paused for Retry-After')
  t.equal(emulator.counters.tooManyRequests, 1)
  t.equal(await db.images.countDocuments({}), 0, 'nothing recorded yet')

  // Once Dropbox lets us through again, the job completes without a second copy.
  emulator.configure({ rateLimit: null })
  job.attemptsStarted = 2
  const result = await processUpload(job, deps)
  t.same(Buffer.from(await (await emulator.download(result.imageUrl)).arrayBuffer()), await emulator.readFile(result.storagePath))
  t.equal(emulator.files().length, 1, 'the retry did not store a second copy')
})

t.test('a retry finds the file where an earlier attempt stored it, even renamed, and does not upload it again', async t => {
  const { emulator, env } = await dropboxEmulator(t)
  const { config } = await testEnv(t, env)
  const db = await openDatabase(config.mongodbUrl)
  t.teardown(() => db.connection.close())
  await ensureDir(config.stagingDir)
  const storage = createStorage(config)
  const deps = { storage, staging: directoryArea(config.stagingDir), images: db.images, records: new RecordWriter(db.images), logger: pino({ level: 'silent' }), pauseQueue: async () => {} }
  const job = await stagedJob(config.stagingDir, '6761a2f5c3b1e24d8f0a9b05', randomPng())
  // Another file already holds the name, so the first attempt's copy is renamed...
  const other = await stagedJob(config.stagingDir, '6761a2f5c3b1e24d8f0a9b06', randomPng())
  await storage.put({ stagedPath: other.data.stagedPath, folder: '100', name: job.data.fileName, size: other.data.size, contentHash: other.data.contentHash })
  const first = await storage.put({ stagedPath: job.data.stagedPath, folder: '100', name: job.data.fileName, size: job.data.size, contentHash: job.data.contentHash })
  t.match(first.name, / \(1\)\.png$/)
  // ...and the worker died after recording where, before writing the record.
  await job.updateData({ ...job.data, stored: first })
  emulator.counters.reset()

  job.attemptsStarted = 2
  const result = await processUpload(job, deps)
  t.equal(result.fileName, first.name)
  t.equal(emulator.counters.calls['files/upload_session/start'] ?? 0, 0, 'no bytes sent again')
  t.equal(emulator.files().length, 2, 'the other file and ours, no third copy')
  t.equal(await db.images.countDocuments({}), 1)
})
