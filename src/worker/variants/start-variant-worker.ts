import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Queue, Worker } from 'bullmq'
import type { Logger } from 'pino'
import sharp from 'sharp'
import type { Config } from '../../config.ts'
import { openDatabase } from '../../models/connect.ts'
import { blockingConnection, closeWithin, isRedisUnavailable } from '../../queue/redis.ts'
import { VARIANT_QUEUE, type VariantJobData, type VariantJobResult } from '../../queue/variant-jobs.ts'
import { createStorage } from '../../storage/index.ts'
import { HeicDecoder } from './heic-decoder.ts'
import { processVariants } from './process-variants.ts'
import { displayP3Profile } from './render.ts'
import { redisCommitLock } from '../../runtime/commit-lock.ts'

// As for uploads: only storage's Retry-After ever holds the queue back.
const LIMITER = { max: 100_000, duration: 1000 }
const CLOSE_TIMEOUT_MS = 30_000
export const VARIANT_WORKER_CLOSE_DEADLINE_MS = CLOSE_TIMEOUT_MS + 10_000

export interface RunningVariantWorker {
  worker: Worker<VariantJobData, VariantJobResult>
  close: () => Promise<void>
}

/**
 * Connects to MongoDB, Redis and storage and renders images from the variants queue, apart from
 * the upload worker: rendering is CPU-bound (one image per core is the right concurrency), storing
 * is I/O-bound (many at once), and neither slows the other. The event loop stays free for lock
 * renewal: sharp works in libuv's threads, HEIC decoding in worker threads of its own.
 */
export async function startVariantWorker (config: Config, logger: Logger): Promise<RunningVariantWorker> {
  const { redisUrl, queuePrefix: prefix, variants } = config
  // No cache of decoded images or open files: every image is read once, and memory must stay bounded.
  sharp.cache(false)
  const db = await openDatabase(config.mongodbUrl)
  const onError = (err: Error): void => { logger.warn({ err: err.message }, 'redis connection error') }
  const redis = blockingConnection(redisUrl, 'variant-worker-control', onError)
  const queue = new Queue(VARIANT_QUEUE, { connection: redis, prefix })
  const onQueueError = (err: Error): void => { if (!isRedisUnavailable(err)) logger.warn({ err }, 'variants queue error') }
  queue.on('error', onQueueError)
  const pauseQueue = (ms: number): Promise<void> => queue.rateLimit(ms)
  const storage = createStorage(config, {
    commitLock: redisCommitLock(redis, config.queuePrefix),
    onRateLimited: ms => { pauseQueue(ms).catch(err => logger.warn({ err }, 'could not pause the variants queue')) }
  })
  const workDir = await mkdtemp(join(tmpdir(), 'image-variants-'))
  const deps = {
    storage,
    images: db.images,
    heic: new HeicDecoder(variants.heicThreads, displayP3Profile),
    limits: { maxInputPixels: variants.maxInputPixels, timeoutMs: variants.timeoutMs },
    workDir,
    logger,
    pauseQueue
  }

  const workerConnection = blockingConnection(redisUrl, 'variant-worker', onError)
  const worker = new Worker<VariantJobData, VariantJobResult>(VARIANT_QUEUE, job => processVariants(job, deps), {
    connection: workerConnection,
    prefix,
    concurrency: variants.concurrency,
    limiter: LIMITER,
    // The same recovery settings as the upload worker (start-worker.ts): a killed variant worker's
    // jobs are taken over within seconds, and every step is idempotent.
    lockDuration: config.worker.lockMs,
    stalledInterval: config.worker.stalledCheckMs,
    maxStalledCount: config.worker.attempts
  })
  worker.on('failed', (job, err) => {
    if (job?.finishedOn) logger.error({ uploadId: job.id, reason: err.message }, 'variants failed for good')
  })
  worker.on('error', onQueueError)
  await worker.waitUntilReady()
  logger.info({ storage: storage.kind, concurrency: variants.concurrency, heicThreads: variants.heicThreads }, 'variant worker ready')

  return {
    worker,
    close: async () => {
      if (!await closeWithin(CLOSE_TIMEOUT_MS, () => worker.close())) {
        logger.warn('variant worker did not close in time (Redis unreachable?); active jobs will be retried elsewhere')
      }
      await closeWithin(5000, () => Promise.all([queue.close(), storage.close(), db.connection.close()]))
      redis.disconnect()
      workerConnection.disconnect()
      await rm(workDir, { recursive: true, force: true })
    }
  }
}
