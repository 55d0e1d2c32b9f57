import { access, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Queue } from 'bullmq'
import t, { type Test } from 'tap'
import { waitFor } from '../../scripts/lib/wait-for.ts'
import { loadConfig } from '../../src/config.ts'
import { DropboxContentHasher } from '../../src/core/content-hash.ts'
import { UPLOAD_JOB, UPLOAD_QUEUE, type UploadJobData } from '../../src/queue/upload-jobs.ts'
import { manifestPath, writeManifest } from '../../src/staging/manifest.ts'
import { ensureDir } from '../../src/staging/staged-files.ts'
import { startWorker } from '../helpers/build.ts'
import { testEnv } from '../helpers/config.ts'
import { randomPng } from '../helpers/images.ts'

const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false)

/**
 * A worker whose storage always fails (DATA_DIR is a file), one attempt per job: the job queued
 * here fails for good with its staged file and manifest in place.
 */
async function failForGood (t: Test, overrides: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'failed-staged-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const notADir = join(dir, 'not-a-dir')
  await writeFile(notADir, '')
  const { config, env } = await testEnv(t, { JOB_ATTEMPTS: '1', DATA_DIR: notADir, ...overrides })
  await ensureDir(config.stagingDir)
  const queue = new Queue(UPLOAD_QUEUE, { connection: { url: config.redisUrl }, prefix: config.queuePrefix })
  t.teardown(() => queue.close())
  const running = await startWorker(t, config)
  const failed = new Promise<void>(resolve => running.worker.once('failed', () => resolve()))

  const uploadId = '6761a2f5c3b1e24d8f0a9f01'
  const content = randomPng()
  const data: UploadJobData = {
    uploadId,
    phoneNumber: '100',
    fileName: '2024-12-17_12:30:45_a.png',
    originalName: 'a.png',
    stagedPath: join(config.stagingDir, uploadId),
    size: content.length,
    contentType: 'image/png',
    contentHash: new DropboxContentHasher().update(content).digest(),
    receivedAt: new Date().toISOString()
  }
  await writeFile(data.stagedPath, content)
  await writeManifest(data.stagedPath, { job: data, acceptedAt: new Date().toISOString() })
  await queue.add(UPLOAD_JOB, data, { jobId: uploadId, attempts: 1 })
  await failed
  t.equal(await queue.getJobState(uploadId), 'failed')
  return { config, env, queue, running, data }
}

t.test('by default a job failed for good keeps its staged file, and a retry from the dashboard stores it', async t => {
  const { env, queue, running, data } = await failForGood(t, {})
  t.ok(await exists(data.stagedPath), 'staged file kept for FAILED_STAGED_RETENTION_SECONDS')
  t.ok(await exists(manifestPath(data.stagedPath)), 'and its manifest')

  // What the dashboard's "retry" does, with a worker whose storage works again.
  await running.close()
  const healthy = loadConfig({ ...env, DATA_DIR: join(env.STAGING_DIR!, '..', 'files') })
  await startWorker(t, healthy)
  await (await queue.getJob(data.uploadId))!.retry()
  await waitFor(async () => await queue.getJobState(data.uploadId) === 'completed', { what: 'the retried job to complete' })
  t.notOk(await exists(data.stagedPath), 'stored, then removed from staging')
})

t.test('FAILED_STAGED_RETENTION_SECONDS=0 removes the staged file as soon as the job fails for good', async t => {
  const { data } = await failForGood(t, { FAILED_STAGED_RETENTION_SECONDS: '0' })
  await waitFor(async () => !await exists(data.stagedPath) && !await exists(manifestPath(data.stagedPath)), { what: 'the staged file and manifest to be removed', timeoutMs: 5000 })
  t.pass('staged file and manifest removed')
})
