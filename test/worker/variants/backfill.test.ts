// `npm run backfill-variants` (src/worker/variants/backfill.ts): queues the renderings of images
// stored before they existed, resumably and at a bounded rate.
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { Types } from 'mongoose'
import t, { type Test } from 'tap'
import { openDatabase } from '../../../src/models/connect.ts'
import { VARIANT_QUEUE, type VariantJobData, type VariantJobResult } from '../../../src/queue/variant-jobs.ts'
import { backfillVariants, type BackfillOptions } from '../../../src/worker/variants/backfill.ts'
import { testEnv } from '../../helpers/config.ts'

async function setup (t: Test) {
  const { config } = await testEnv(t)
  const db = await openDatabase(config.mongodbUrl)
  const redis = new Redis(config.redisUrl)
  const queue = new Queue<VariantJobData, VariantJobResult>(VARIANT_QUEUE, { connection: redis, prefix: config.queuePrefix })
  t.teardown(async () => {
    await queue.obliterate({ force: true })
    await queue.close()
    await redis.quit()
    await db.connection.close()
  })
  const record = (extra: Record<string, unknown> = {}) => ({
    _id: new Types.ObjectId(),
    phone_number: '5550200',
    file_name: 'a.jpg',
    image_url: 'http://x/a.jpg',
    storage: 'local',
    storage_path: '/5550200/a.jpg',
    size: 1,
    content_type: 'image/jpeg',
    content_hash: 'h',
    ...extra
  })
  const made = { status: 'ready', made_at: new Date() }
  const missing = Array.from({ length: 5 }, () => record())
  const failed = record({ variants: { status: 'failed', reason: 'too large', made_at: new Date() } })
  await db.images.insertMany([...missing, failed, record({ variants: made }), record({ storage: 'dropbox' })])
  const target = { images: db.images, queue, redis, checkpointKey: `${config.queuePrefix}:variants-backfill:after`, storage: 'local' as const, attempts: 3 }
  const options: BackfillOptions = { perSecond: 1000, maxWaiting: 1000, includeFailed: false, restart: false, dryRun: false, batchSize: 2 }
  const jobIds = async () => (await queue.getJobs(['waiting'])).map(j => j.id).sort()
  return { db, redis, queue, target, options, missing, failed, jobIds }
}

t.test('queues every image without renderings, once; interrupted, the next run goes on where it stopped', async t => {
  const { redis, target, options, missing, jobIds } = await setup(t)
  const expected = missing.map(r => r._id.toHexString()).sort()

  t.same(await backfillVariants(target, { ...options, dryRun: true }), { found: 5, queued: 0, after: undefined, done: true }, 'a dry run counts')
  t.same(await jobIds(), [], 'and queues nothing')

  const stop = new AbortController()
  const first = await backfillVariants(target, { ...options, signal: stop.signal, onProgress: () => stop.abort() })
  t.match(first, { queued: 2, done: false })
  t.equal(await redis.get(target.checkpointKey), first.after, 'the checkpoint: where it stopped')
  t.equal((await jobIds()).length, 2)

  const rest = await backfillVariants(target, options)
  t.match(rest, { queued: 3, done: true })
  t.same(await jobIds(), expected, 'the five, no more: not the made, the failed, nor the other storage\'s')
  t.equal(await redis.get(target.checkpointKey), null, 'done: no checkpoint left')

  await backfillVariants(target, { ...options, restart: true })
  t.same(await jobIds(), expected, 'run again: nothing queued twice')
})

t.test('--include-failed renders failed images again; --per-second and --max-waiting hold it back', async t => {
  const { db, target, options, failed, jobIds } = await setup(t)
  const started = Date.now()
  const progress = await backfillVariants(target, { ...options, includeFailed: true, perSecond: 3 })
  const seconds = (Date.now() - started) / 1000
  t.match(progress, { found: 6, queued: 6, done: true })
  t.ok(seconds >= 1.8, `6 jobs at 3 a second: ${seconds.toFixed(1)} s`)
  t.ok((await jobIds()).includes(failed._id.toHexString()), 'the failed one is queued')
  t.equal((await db.images.findById(failed._id).lean())?.variants, undefined, 'its failure forgotten, so it renders again')

  // Six wait already: with at most four waiting, nothing more is queued until they are taken.
  await db.images.insertMany([{ ...failed, _id: new Types.ObjectId(), variants: undefined }])
  const stop = new AbortController()
  setTimeout(() => stop.abort(), 1500)
  const held = await backfillVariants(target, { ...options, maxWaiting: 4, restart: true, signal: stop.signal })
  t.equal(held.queued, 0, 'held back while the variant workers are behind')
})
