import { readdir, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Queue, UnrecoverableError, Worker } from 'bullmq'
import { pino } from 'pino'
import t from 'tap'
import { UPLOAD_QUEUE } from '../../src/queue/upload-jobs.ts'
import { ensureDir } from '../../src/staging/staged-files.ts'
import { ORPHAN_AGE_MS, sweepStaging } from '../../src/worker/staging-janitor.ts'
import { testEnv } from '../helpers/config.ts'

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

  const removed = await sweepStaging(config.stagingDir, queue, pino({ level: 'silent' }))
  t.same(removed.sort(), ['old-completed', 'old-orphan'])
  t.equal(await (await queue.getJob('old-failed'))!.getState(), 'failed')
  t.same((await readdir(config.stagingDir)).sort(), ['fresh-orphan', 'old-failed', 'old-waiting'])
})
