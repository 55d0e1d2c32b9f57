import { DelayedError, Queue, Worker, type Job } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { Config } from '../../config.ts'
import { auditEventModel } from '../../models/audit-event.ts'
import type { Database } from '../../models/connect.ts'
import { DROPBOX_SYNC_QUEUE, DROPBOX_SYNC_SCHEDULER, scheduleDropboxSync, type DropboxSyncJobData, type DropboxSyncQueue } from '../../queue/dropbox-sync-jobs.ts'
import { DropboxSyncState, type SyncRunReport } from '../../queue/dropbox-sync-state.ts'
import { blockingConnection, closeWithin, isRedisUnavailable } from '../../queue/redis.ts'
import type { Storage } from '../../storage/storage.ts'
import { runDropboxSync } from './run-sync.ts'

/** How soon a requested sync looks again when another process's run holds the lease. */
const BUSY_RETRY_MS = 2000

/** What the upload worker tells the sync: "I am storing this file; its record is mine to write". */
export interface CommitMarks {
  mark: (folder: string, contentHash: string) => Promise<void>
  unmark: (folder: string, contentHash: string) => Promise<void>
}

export interface RunningSync {
  commits: CommitMarks
  /** Stops a run under way between two steps (it resumes later, elsewhere) and closes the queue. */
  close: () => Promise<void>
}

export interface SyncResources {
  storage: Storage
  db: Database
  /** The worker's non-blocking connection (queue control, state). */
  redis: Redis
  logger: Logger
}

/**
 * The Dropbox sync in a worker process, when storage is Dropbox and DROPBOX_SYNC_INTERVAL_MS is
 * not 0: a BullMQ worker (one job at a time) for the dropbox-sync queue, fed by the schedule every
 * worker process upserts and by the API's webhook route and the admin's button. A run takes the
 * sync's lease first, so one runs at a time whatever the number of processes.
 */
export async function startDropboxSync (config: Config, { storage, db, redis, logger }: SyncResources): Promise<RunningSync | undefined> {
  const { queuePrefix: prefix, redisUrl } = config
  const intervalMs = config.dropbox?.syncIntervalMs ?? 0
  if (!config.dropbox) return undefined
  const queue: DropboxSyncQueue = new Queue<DropboxSyncJobData>(DROPBOX_SYNC_QUEUE, { connection: redis, prefix })
  const onQueueError = (err: Error): void => { if (!isRedisUnavailable(err)) logger.warn({ err }, 'dropbox sync queue error') }
  queue.on('error', onQueueError)
  const changes = storage.changes
  if (intervalMs === 0 || !changes) {
    // Turned off: no more periodic jobs (another deployment may have scheduled them).
    await queue.removeJobScheduler(DROPBOX_SYNC_SCHEDULER)
    await queue.close()
    return undefined
  }

  const feed = changes
  const audit = auditEventModel(db.connection)
  await audit.createIndexes()
  const state = new DropboxSyncState(redis, prefix)
  // A dead holder's lease ends as soon as its upload jobs would be taken over.
  const lease = state.lease(config.worker.lockMs)
  const stopping = new AbortController()
  const log = logger.child({ component: 'dropbox-sync' })

  async function syncJob (job: Job<DropboxSyncJobData>, jobToken?: string): Promise<Pick<SyncRunReport, 'outcome'> | { outcome: 'skipped' }> {
    // A dead process's lease ends within its TTL, so waiting that long takes a killed run over.
    const held = await lease.acquire({ waitMs: config.worker.lockMs + 1000 })
    if (!held) {
      // Another process is running a sync. The schedule's next run will come anyway; a webhook's
      // or an operator's must follow the running one (it may have listed before their change).
      if (job.data.trigger === 'interval' || jobToken === undefined) return { outcome: 'skipped' }
      await job.moveToDelayed(Date.now() + BUSY_RETRY_MS, jobToken)
      throw new DelayedError()
    }
    const started = new Date()
    const { trigger } = job.data
    const signal = AbortSignal.any([stopping.signal, held.lost])
    const report = (fields: Partial<SyncRunReport>): SyncRunReport => ({
      trigger, startedAt: started.toISOString(), finishedAt: new Date().toISOString(), outcome: 'completed', fullListing: false, pages: 0, created: 0, updated: 0, deleted: 0, deferred: 0, ...fields
    })
    try {
      await state.markRunning({ trigger, startedAt: started.toISOString() })
      const outcome = await runDropboxSync({ changes: feed, storage, images: db.images, audit, state, logger: log, signal, token: held.token })
      const done = report(outcome)
      await state.recordRun(done)
      log.info({ ...done }, 'dropbox sync done')
      return { outcome: 'completed' }
    } catch (err) {
      const interrupted = signal.aborted
      const done = report({ outcome: interrupted ? 'interrupted' : 'failed', error: (err as Error).message })
      await state.recordRun(done).catch(() => {})
      if (interrupted) {
        log.warn({ reason: (signal.reason as Error | undefined)?.message }, 'dropbox sync interrupted; the next run resumes it')
        return { outcome: 'interrupted' }
      }
      log.error({ err }, 'dropbox sync failed; the next run retries from where it stopped')
      throw err
    } finally {
      await held.release()
    }
  }

  const connection = blockingConnection(redisUrl, 'dropbox-sync', err => { logger.warn({ err: err.message }, 'redis connection error') })
  const worker = new Worker<DropboxSyncJobData>(DROPBOX_SYNC_QUEUE, syncJob, {
    connection,
    prefix,
    concurrency: 1,
    lockDuration: config.worker.lockMs,
    stalledInterval: config.worker.stalledCheckMs,
    maxStalledCount: config.worker.attempts
  })
  worker.on('error', onQueueError)
  await worker.waitUntilReady()
  await scheduleDropboxSync(queue, intervalMs)
  log.info({ intervalMs }, 'dropbox sync ready')

  return {
    commits: {
      mark: (folder, contentHash) => state.markCommitting(folder, contentHash),
      unmark: (folder, contentHash) => state.unmarkCommitting(folder, contentHash)
    },
    close: async () => {
      stopping.abort(new Error('the worker is stopping'))
      await closeWithin(10_000, () => worker.close())
      await closeWithin(5000, () => queue.close())
      connection.disconnect()
    }
  }
}
