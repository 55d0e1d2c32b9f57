// `npm run backfill-variants`: queues the display rendering and thumbnail of every image stored
// before renderings existed (the variant workers make them; run at least one). Resumable: Ctrl-C
// stops after the batch under way and the next run goes on from there (the checkpoint is kept in
// Redis). Rate-limited: --per-second jobs at most, and none while --max-waiting already wait.
// Reads the same settings as the service (.env, MONGODB_URL, REDIS_URL, QUEUE_PREFIX); through
// npm (scripts/run.sh), without them it uses those of a running `npm run dev`.
import { parseArgs } from 'node:util'
import { Queue } from 'bullmq'
import { ConfigError, loadConfig } from '../src/config.ts'
import { openDatabase } from '../src/models/connect.ts'
import { producerConnection } from '../src/queue/redis.ts'
import { VARIANT_QUEUE, type VariantJobData, type VariantJobResult } from '../src/queue/variant-jobs.ts'
import { backfillVariants } from '../src/worker/variants/backfill.ts'

const USAGE = `usage: npm run backfill-variants -- [--per-second N] [--max-waiting N] [--include-failed] [--restart] [--dry-run]

  --per-second N     queue at most N jobs a second (default 20)
  --max-waiting N    pause while N variant jobs wait already (default 200)
  --include-failed   render again the images whose rendering failed (after raising a limit)
  --restart          from the first record, not from where an interrupted run stopped
  --dry-run          count what would be queued; queue nothing`

class UsageError extends Error {}

function positive (name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a whole number of at least 1, not '${value}'`)
  return n
}

async function main (): Promise<void> {
  let args
  try {
    args = parseArgs({
      options: {
        'per-second': { type: 'string' },
        'max-waiting': { type: 'string' },
        'include-failed': { type: 'boolean', default: false },
        restart: { type: 'boolean', default: false },
        'dry-run': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false }
      }
    }).values
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  if (args.help) {
    console.log(USAGE)
    return
  }
  const perSecond = positive('per-second', args['per-second'], 20)
  const maxWaiting = positive('max-waiting', args['max-waiting'], 200)
  const config = loadConfig()
  const db = await openDatabase(config.mongodbUrl)
  const redis = producerConnection(config.redisUrl, 'variants-backfill', err => console.error(`redis: ${err.message}`))
  const queue = new Queue<VariantJobData, VariantJobResult>(VARIANT_QUEUE, { connection: redis, prefix: config.queuePrefix })
  const stop = new AbortController()
  process.once('SIGINT', () => {
    console.error('stopping after this batch; run again to go on from there')
    stop.abort()
  })
  try {
    await queue.waitUntilReady()
    const target = { images: db.images, queue, redis, checkpointKey: `${config.queuePrefix}:variants-backfill:after`, storage: config.storage, attempts: config.worker.attempts }
    const progress = await backfillVariants(target, {
      perSecond,
      maxWaiting,
      includeFailed: args['include-failed'],
      restart: args.restart,
      dryRun: args['dry-run'],
      signal: stop.signal,
      onProgress: p => console.error(`${args['dry-run'] ? 'found' : 'queued'} ${args['dry-run'] ? p.found : p.queued} (up to ${p.after})`)
    })
    if (args['dry-run']) console.log(`${progress.found} images would get renderings${progress.done ? '' : ' so far (interrupted)'}`)
    else if (progress.done) console.log(`done: ${progress.queued} images queued for renderings; the variant workers make them`)
    else console.log(`stopped after ${progress.queued} images; run again to go on after ${progress.after ?? 'the start'}`)
  } finally {
    await queue.close()
    redis.disconnect()
    await db.connection.close()
  }
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) console.error(`${err.message}\n\n${USAGE}`)
  else console.error(err instanceof ConfigError ? err.message : err)
  process.exit(err instanceof UsageError ? 2 : 1)
})
