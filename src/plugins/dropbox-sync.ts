import { Queue } from 'bullmq'
import fp from 'fastify-plugin'
import { DROPBOX_SYNC_QUEUE, requestDropboxSync, type DropboxSyncJobData, type DropboxSyncQueue, type SyncTrigger } from '../queue/dropbox-sync-jobs.ts'
import { DropboxSyncState, type SyncStatus } from '../queue/dropbox-sync-state.ts'
import { closeWithin, isRedisUnavailable } from '../queue/redis.ts'

export interface DropboxSyncControl {
  /** Storage is Dropbox and DROPBOX_SYNC_INTERVAL_MS is not 0. */
  enabled: boolean
  intervalMs: number
  /** Queues a sync (the workers run it) and returns at once. */
  request: (trigger: Exclude<SyncTrigger, 'interval'>, requestedBy?: string) => Promise<void>
  /** The last run's report and the run under way, as the workers recorded them. */
  status: () => Promise<SyncStatus>
}

declare module 'fastify' {
  interface FastifyInstance {
    dropboxSync: DropboxSyncControl
  }
}

// The API's and the admin's side of the Dropbox sync: asking for a run (webhooks, "sync now") and
// reading how the last one went. The runs themselves happen in the workers (worker/dropbox-sync).
export default fp(async (fastify) => {
  const { dropbox, queuePrefix: prefix } = fastify.config
  const intervalMs = dropbox?.syncIntervalMs ?? 0
  if (!dropbox || intervalMs === 0) {
    fastify.decorate('dropboxSync', {
      enabled: false,
      intervalMs: 0,
      request: async () => { throw new Error('the Dropbox sync is off') },
      status: async () => ({ last: undefined, running: undefined })
    })
    return
  }
  // The producer's fail-fast connection: with Redis down, a request answers 503 at once.
  const redis = fastify.uploadQueue.redis
  const queue: DropboxSyncQueue = new Queue<DropboxSyncJobData>(DROPBOX_SYNC_QUEUE, { connection: redis, prefix })
  queue.on('error', err => { if (!isRedisUnavailable(err)) fastify.log.warn({ err }, 'dropbox sync queue error') })
  const state = new DropboxSyncState(redis, prefix)
  fastify.decorate('dropboxSync', {
    enabled: true,
    intervalMs,
    request: (trigger, requestedBy) => requestDropboxSync(queue, { trigger, ...(requestedBy ? { requestedBy } : {}) }),
    status: () => state.status()
  })
  fastify.addHook('onClose', async () => { await closeWithin(5000, () => queue.close()) })
}, { name: 'dropbox-sync', dependencies: ['config', 'upload-queue'] })
