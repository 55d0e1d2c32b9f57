import { Queue, Worker } from 'bullmq'
import type { Logger } from 'pino'
import type { Config } from '../config.ts'
import { openDatabase } from '../models/connect.ts'
import { blockingConnection, closeWithin, isRedisUnavailable } from '../queue/redis.ts'
import { UPLOAD_QUEUE, type UploadJobData, type UploadJobResult } from '../queue/upload-jobs.ts'
import { createStorage } from '../storage/index.ts'
import { processUpload } from './process-upload.ts'
import { RecordWriter } from './record-writer.ts'
import { sweepStaging, SWEEP_INTERVAL_MS } from './staging-janitor.ts'

// Manual rate limiting (queue.rateLimit) only applies to workers that have a limiter; this one
// is far above any real rate, so only Dropbox's Retry-After ever holds the queue back.
const LIMITER = { max: 100_000, duration: 1000 }
const CLOSE_TIMEOUT_MS = 30_000
/** Active jobs get CLOSE_TIMEOUT_MS to finish, connections a few seconds more; then the process exits anyway. */
export const WORKER_CLOSE_DEADLINE_MS = CLOSE_TIMEOUT_MS + 10_000

export interface RunningWorker {
  worker: Worker<UploadJobData, UploadJobResult>
  /** Waits for active jobs to finish, then closes every connection. */
  close: () => Promise<void>
}

/** Connects to MongoDB, Redis and storage and starts consuming upload jobs. */
export async function startUploadWorker (config: Config, logger: Logger): Promise<RunningWorker> {
  const { redisUrl, queuePrefix: prefix } = config
  const db = await openDatabase(config.mongodbUrl)
  const onError = (err: Error): void => { logger.warn({ err: err.message }, 'redis connection error') }
  const redis = blockingConnection(redisUrl, 'worker-control', onError)
  const queue = new Queue(UPLOAD_QUEUE, { connection: redis, prefix })
  const onQueueError = (err: Error): void => { if (!isRedisUnavailable(err)) logger.warn({ err }, 'upload queue error') }
  queue.on('error', onQueueError)
  const pauseQueue = (ms: number): Promise<void> => queue.rateLimit(ms)
  const storage = createStorage(config, {
    redis,
    onRateLimited: ms => { pauseQueue(ms).catch(err => logger.warn({ err }, 'could not pause the queue')) }
  })
  const deps = { storage, images: db.images, records: new RecordWriter(db.images), logger, pauseQueue }

  const workerConnection = blockingConnection(redisUrl, 'worker', onError)
  const worker = new Worker<UploadJobData, UploadJobResult>(UPLOAD_QUEUE, job => processUpload(job, deps), {
    connection: workerConnection,
    prefix,
    concurrency: config.worker.concurrency,
    limiter: LIMITER,
    // A job whose worker died is taken over; dying again and again must not fail it for good
    // (BullMQ's default allows one stall), its attempts bound it as for any other failure.
    maxStalledCount: config.worker.attempts
  })
  worker.on('failed', (job, err) => {
    if (job?.finishedOn) logger.error({ uploadId: job.id, reason: err.message }, 'upload failed for good')
  })
  worker.on('error', onQueueError)
  await worker.waitUntilReady()
  const janitor = setInterval(() => {
    sweepStaging(config.stagingDir, queue, logger).catch(err => logger.warn({ err }, 'staging sweep failed'))
  }, SWEEP_INTERVAL_MS).unref()
  logger.info({ storage: storage.kind, concurrency: config.worker.concurrency }, 'upload worker ready')

  return {
    worker,
    close: async () => {
      clearInterval(janitor)
      // Active jobs get a generous while to finish; Redis being down must not block the exit.
      if (!await closeWithin(CLOSE_TIMEOUT_MS, () => worker.close())) {
        logger.warn('worker did not close in time (Redis unreachable?); active jobs will be retried elsewhere')
      }
      await closeWithin(5000, () => Promise.all([queue.close(), storage.close(), db.connection.close()]))
      // BullMQ leaves connections it was given open; they are ours to close.
      redis.disconnect()
      workerConnection.disconnect()
    }
  }
}
