// A variant worker killed (SIGKILL) in the middle of an image: another takes the job over once
// its lock expires, and the image ends with its two renderings, once, and nothing else.
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Queue } from 'bullmq'
import { createConnection, Types } from 'mongoose'
import sharp from 'sharp'
import t, { type Test } from 'tap'
import { SERVICE_NODE_FLAGS, spawnNode, variantWorkerEnv, type NodeChild } from '../../scripts/lib/spawn.ts'
import { waitFor } from '../../scripts/lib/wait-for.ts'
import { DropboxContentHasher } from '../../src/core/content-hash.ts'
import { enqueueVariants, VARIANT_QUEUE } from '../../src/queue/variant-jobs.ts'
import { testEnv } from '../helpers/config.ts'

function variantWorker (t: Test, env: Record<string, string>): NodeChild {
  const child = spawnNode('variant worker', 'workers/variant-worker.ts', { env: { ...process.env, ...variantWorkerEnv(), ...env }, nodeArgs: SERVICE_NODE_FLAGS })
  t.teardown(() => child.stop(0))
  return child
}

t.test('a variant worker killed mid-image: the job is taken over and its work done once', async t => {
  const { env, dataDir } = await testEnv(t, { WORKER_LOCK_MS: '2000', WORKER_STALLED_CHECK_MS: '1000', VARIANT_CONCURRENCY: '1' })
  const db = createConnection(env.MONGODB_URL!)
  await db.asPromise()
  const queue = new Queue(VARIANT_QUEUE, { connection: { url: env.REDIS_URL }, prefix: env.QUEUE_PREFIX })
  t.teardown(async () => { await queue.close(); await db.close() })

  // Large enough to take a while: 24 MP of noise as PNG.
  const width = 6000
  const height = 4000
  const bytes = await sharp({ create: { width, height, channels: 3, background: '#777', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).png({ compressionLevel: 1 }).toBuffer()
  await mkdir(join(dataDir, '5550300'), { recursive: true })
  await writeFile(join(dataDir, '5550300', 'big.png'), bytes)
  const _id = new Types.ObjectId()
  const id = _id.toHexString()
  await db.collection('images').insertOne({
    _id,
    phone_number: '5550300',
    file_name: 'big.png',
    image_url: 'http://x',
    uploaded_at: new Date(),
    storage: 'local',
    storage_path: '/5550300/big.png',
    size: bytes.length,
    content_type: 'image/png',
    content_hash: new DropboxContentHasher().update(bytes).digest()
  })

  const first = variantWorker(t, env)
  await waitFor(async () => await queue.getWorkersCount() >= 1, { what: 'the first variant worker' })
  await enqueueVariants(queue, [id], 3)
  await waitFor(async () => await queue.getActiveCount() === 1, { what: 'the job to be active', intervalMs: 10 })
  first.process.kill('SIGKILL')
  await first.exited
  t.equal((await db.collection('images').findOne({ _id }))?.variants, undefined, 'killed before it was done')

  variantWorker(t, env)
  const done = await waitFor(async () => {
    const record = await db.collection('images').findOne({ _id })
    return record?.variants?.status === 'ready' ? record : undefined
  }, { what: 'the renderings, by the second worker', timeoutMs: 60_000 })
  t.match(done.variants, { display: { width: 2048, height: 1365 }, thumbnail: { width: 320, height: 213 } })
  t.same((await readdir(join(dataDir, '.variants', id))).sort(), ['display.jpg', 'thumbnail.webp'], 'two files, nothing partial')
  // Completed variant jobs are removed at once: the record says what was made.
  await waitFor(async () => (await queue.getJob(id)) === undefined, { what: 'the job to complete' })
  t.same(await queue.getJobCounts('failed', 'waiting', 'active', 'delayed'), { failed: 0, waiting: 0, active: 0, delayed: 0 }, 'nothing left over')
})
