import { join } from 'node:path'
import { Queue, RateLimitError, UnrecoverableError, Worker, type Job } from 'bullmq'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { Config } from '../config.ts'
import { openDatabase } from '../models/connect.ts'
import { blockingConnection, closeWithin, isRedisUnavailable } from '../queue/redis.ts'
import { resultsChannel, UPLOAD_EVENTS_MAX_LEN, UPLOAD_QUEUE, type PublishedOutcome, type UploadJobData, type UploadJobResult } from '../queue/upload-jobs.ts'
import { enqueueVariants, VARIANT_QUEUE, type VariantJobData, type VariantJobResult } from '../queue/variant-jobs.ts'
import { sweepScratch } from '../staging/scratch.ts'
import { openStagingArea, type StagingArea } from '../staging/staging-area.ts'
import { batchObservers, createRegistry, errorKind, instrumentStorage, jobMetrics, storageMetrics } from '../runtime/metrics.ts'
import { createStorage } from '../storage/index.ts'
import { startDropboxSync } from './dropbox-sync/start-sync.ts'
import { startMetricsServer, type MetricsServer } from './metrics-server.ts'
import { processUpload } from './process-upload.ts'
import { RecordWriter } from './record-writer.ts'
import { startResumableJanitor } from './resumable-janitor.ts'
import { sweepStaging, SWEEP_INTERVAL_MS } from './staging-janitor.ts'
import { redisCommitLock } from '../runtime/commit-lock.ts'

// Manual rate limiting (queue.rateLimit) only applies to workers that have a limiter; this one
// is far above any real rate, so only Dropbox's Retry-After ever holds the queue back.
const LIMITER = { max: 100_000, duration: 1000 }
const CLOSE_TIMEOUT_MS = 30_000
/** Active jobs get CLOSE_TIMEOUT_MS to finish, connections a few seconds more; then the process exits anyway. */
export const WORKER_CLOSE_DEADLINE_MS = CLOSE_TIMEOUT_MS + 10_000

export interface RunningWorker {
  worker: Worker<UploadJobData, UploadJobResult>
  /** This process's Prometheus metrics; served on WORKER_METRICS_PORT when set. */
  metrics: { registry: Registry, server: MetricsServer | undefined }
  /** Waits for active jobs to finish, then closes every connection. */
  close: () => Promise<void>
}

/** Connects to MongoDB, Redis and storage and starts consuming upload jobs. */
export async function startUploadWorker (config: Config, logger: Logger): Promise<RunningWorker> {
  const { redisUrl, queuePrefix: prefix } = config
  // Metrics of this process (README, "Operations"): storage calls, 429s and batch sizes, jobs.
  // Served first, so that a taken WORKER_METRICS_PORT stops the worker before it takes any job.
  const registry = createRegistry()
  const metricsServer = config.metrics.workerPort > 0
    ? await startMetricsServer(registry, { host: config.host, port: config.metrics.workerPort, token: config.metrics.token, logger })
    : undefined
  const db = await openDatabase(config.mongodbUrl)
  const staging = await openStagingArea(config, err => { logger.warn({ err }, 'S3 staging bucket not reachable at start; jobs are retried until it is') })
  const onError = (err: Error): void => { logger.warn({ err: err.message }, 'redis connection error') }
  const redis = blockingConnection(redisUrl, 'worker-control', onError)
  const queue = new Queue(UPLOAD_QUEUE, { connection: redis, prefix, streams: { events: { maxLen: UPLOAD_EVENTS_MAX_LEN } } })
  const onQueueError = (err: Error): void => { if (!isRedisUnavailable(err)) logger.warn({ err }, 'upload queue error') }
  queue.on('error', onQueueError)
  const pauseQueue = (ms: number): Promise<void> => queue.rateLimit(ms)
  const storageCalls = storageMetrics(registry)
  const jobs = jobMetrics(registry)
  const observers = batchObservers(storageCalls, config.storage)
  const storage = instrumentStorage(createStorage(config, {
    commitLock: redisCommitLock(redis, config.queuePrefix),
    onRateLimited: (ms, reason) => {
      observers.onRateLimitedReason(reason)
      pauseQueue(ms).catch(err => logger.warn({ err }, 'could not pause the queue'))
    },
    onBatchCommitted: observers.onBatchCommitted
  }), storageCalls)
  // The Dropbox sync (when on) runs in the worker processes, beside the uploads.
  const sync = await startDropboxSync(config, { storage, db, redis, logger })
  // Each recorded image's renderings are queued for the variant worker (workers/variant-worker.ts).
  const variantQueue = config.variants.enabled ? new Queue<VariantJobData, VariantJobResult>(VARIANT_QUEUE, { connection: redis, prefix }) : undefined
  variantQueue?.on('error', onQueueError)
  const onRecorded = variantQueue && ((uploadId: string) => enqueueVariants(variantQueue, [uploadId], config.worker.attempts))
  const deps = { storage, staging, images: db.images, records: new RecordWriter(db.images), logger, pauseQueue, commits: sync?.commits, onRecorded }

  const workerConnection = blockingConnection(redisUrl, 'worker', onError)
  const run = async (job: Job<UploadJobData, UploadJobResult>): Promise<UploadJobResult> => {
    const end = jobs.duration.startTimer({ queue: UPLOAD_QUEUE })
    try {
      const result = await processUpload(job, deps)
      end({ outcome: 'completed' })
      return result
    } catch (err) {
      end({ outcome: err instanceof RateLimitError ? 'rate_limited' : err instanceof UnrecoverableError ? 'failed' : 'error' })
      throw err
    }
  }
  const worker = new Worker<UploadJobData, UploadJobResult>(UPLOAD_QUEUE, run, {
    connection: workerConnection,
    prefix,
    concurrency: config.worker.concurrency,
    limiter: LIMITER,
    // Recovery in seconds: a job holds a lock of lockMs, renewed every lockMs / 2 while it runs.
    // The stalled check runs once per stalledCheckMs across all workers (a Redis key with that
    // expiry): it moves back to waiting the jobs it marked last time whose lock has expired
    // since, then marks every active job again (a lock renewal unmarks it). After a kill, the
    // first check can come two intervals later (the dead worker may have run the last one), the
    // job is marked there and moved at the next check once its lock is gone: taken over within
    // max(lockMs + stalledCheckMs, 3 x stalledCheckMs), 9 s by default (measured 6-9 s,
    // BENCHMARKS.md "Recovery and timeouts"; with 5 s checks it was 10-15 s).
    // The lock is renewed from this process's event loop: CPU-heavy work (decoding images,
    // synchronous hashing of whole files) must not run on it, or a busy worker loses its locks
    // and its jobs run twice elsewhere (harmless, processUpload is idempotent, but wasted). Such
    // work belongs in a worker thread.
    lockDuration: config.worker.lockMs,
    stalledInterval: config.worker.stalledCheckMs,
    // A job whose worker died is taken over; dying again and again must not fail it for good
    // (BullMQ's default allows one stall), its attempts bound it as for any other failure.
    maxStalledCount: config.worker.attempts
  })
  // The outcome goes to the API process that queued the job (and waits for it), whichever worker
  // ran it; a message lost on the way is made up for by that process's re-read sweep.
  const publish = (job: Job<UploadJobData, UploadJobResult>, outcome: PublishedOutcome): void => {
    const instance = job.data.apiInstance
    if (typeof instance !== 'string' || instance === '') return
    redis.publish(resultsChannel(prefix, instance), JSON.stringify(outcome))
      .catch(err => logger.warn({ err: (err as Error).message, uploadId: job.id }, 'could not publish an upload outcome'))
  }
  worker.on('completed', (job, result) => { publish(job, { jobId: job.id!, status: 'completed', result }) })
  worker.on('failed', (job, err) => {
    // finishedOn is set only when no attempt is left (or the error was unrecoverable).
    if (!job?.finishedOn) {
      jobs.retries.inc({ queue: UPLOAD_QUEUE, reason: errorKind(err) })
      return
    }
    publish(job, { jobId: job.id!, status: 'failed', reason: job.failedReason ?? err.message })
    jobs.failed.inc({ queue: UPLOAD_QUEUE, reason: errorKind(err) })
    logger.error({ uploadId: job.id, requestId: job.data.requestId, reason: err.message }, 'upload failed for good')
    if (config.worker.failedStagedRetentionMs === 0) {
      removeFailedStaged(job, staging, config.stagingDir).catch(err => logger.warn({ err, uploadId: job.id }, 'could not remove the staged file of a failed upload'))
    }
  })
  worker.on('error', onQueueError)
  // This process saw a job's lock expire and handed the job on (its worker died or stalled).
  worker.on('stalled', () => { jobs.stalled.inc({ queue: UPLOAD_QUEUE }) })
  await worker.waitUntilReady()
  const sweepSettings = { idleTimeoutMs: config.upload.idleTimeoutMs, failedRetentionMs: config.worker.failedStagedRetentionMs }
  const sweep = (): void => {
    sweepStaging(staging, queue, logger, sweepSettings, Date.now(), { images: db.images, attempts: config.worker.attempts }).catch(err => logger.warn({ err }, 'staging sweep failed'))
    // With S3 staging, STAGING_DIR is scratch: downloads of jobs this process (or one before it) never finished.
    if (staging.kind === 's3') sweepScratch(config.stagingDir).catch(err => logger.warn({ err }, 'scratch sweep failed'))
  }
  // Once at start too: what a crash left behind goes without waiting for the first interval.
  sweep()
  const janitor = setInterval(sweep, SWEEP_INTERVAL_MS).unref()
  // Resumable uploads left unfinished past RESUMABLE_UPLOAD_TTL: bytes and state.
  const stopResumableJanitor = startResumableJanitor(config, redis, logger)
  logger.info({ storage: storage.kind, concurrency: config.worker.concurrency, metricsPort: metricsServer?.address.port }, 'upload worker ready')

  return {
    worker,
    metrics: { registry, server: metricsServer },
    close: async () => {
      await metricsServer?.close()
      clearInterval(janitor)
      stopResumableJanitor()
      await sync?.close()
      // Active jobs get a generous while to finish; Redis being down must not block the exit.
      if (!await closeWithin(CLOSE_TIMEOUT_MS, () => worker.close())) {
        logger.warn('worker did not close in time (Redis unreachable?); active jobs will be retried elsewhere')
      }
      await closeWithin(5000, () => Promise.all([queue.close(), variantQueue?.close(), storage.close(), staging.close(), db.connection.close()]))
      // BullMQ leaves connections it was given open; they are ours to close.
      redis.disconnect()
      workerConnection.disconnect()
      registry.clear()
    }
  }
}

/**
 * FAILED_STAGED_RETENTION_SECONDS=0: a job that failed for good gives up its staged file (and
 * manifest) at once; a retry from the dashboard then fails with "staged file missing". Only the
 * place the staging area gives its own upload id is ever removed, whatever the job's data says.
 */
async function removeFailedStaged (job: Job<UploadJobData>, staging: StagingArea, stagingDir: string): Promise<void> {
  const id = job.id
  if (id === undefined || job.data.stagedPath !== staging.stagedPathOf(id, join(stagingDir, id))) return
  await staging.remove([{ uploadId: id, stagedPath: job.data.stagedPath }])
}
