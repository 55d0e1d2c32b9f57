// The contract of the Dropbox sync's queue: who asks for a sync (the API's webhook route, the
// admin's "sync now", the workers' own schedule) and the worker that runs it (worker/dropbox-sync).
// A job only says "look at Dropbox now": what to look at is the sync's state (dropbox-sync-state.ts).
import type { JobsOptions, Queue } from 'bullmq'

export const DROPBOX_SYNC_QUEUE = 'dropbox-sync'
export const DROPBOX_SYNC_JOB = 'sync'
/** The repeating job (BullMQ job scheduler) every worker process upserts: one schedule in all. */
export const DROPBOX_SYNC_SCHEDULER = 'dropbox-sync-interval'

export type SyncTrigger = 'interval' | 'webhook' | 'admin'

export interface DropboxSyncJobData {
  trigger: SyncTrigger
  /** The admin who pressed "sync now". */
  requestedBy?: string
}

export type DropboxSyncQueue = Queue<DropboxSyncJobData>

/** Finished sync jobs say nothing the sync's own status does not; a few are kept for debugging. */
export const SYNC_JOB_RETENTION: Pick<JobsOptions, 'removeOnComplete' | 'removeOnFail'> = {
  removeOnComplete: { count: 20 },
  removeOnFail: { count: 50 }
}

/**
 * Asks for a sync. Triggers arriving together collapse into one job (deduplication), and one that
 * arrives while a sync runs leaves exactly one more job to run after it (keepLastIfActive): a
 * change Dropbox notified during a run is never left for the next interval.
 */
export async function requestDropboxSync (queue: DropboxSyncQueue, data: DropboxSyncJobData): Promise<void> {
  await queue.add(DROPBOX_SYNC_JOB, data, {
    ...SYNC_JOB_RETENTION,
    deduplication: { id: 'dropbox-sync', keepLastIfActive: true }
  })
}

/** The periodic sync, as a BullMQ job scheduler shared by every worker process. */
export async function scheduleDropboxSync (queue: DropboxSyncQueue, everyMs: number): Promise<void> {
  await queue.upsertJobScheduler(DROPBOX_SYNC_SCHEDULER, { every: everyMs }, {
    name: DROPBOX_SYNC_JOB,
    data: { trigger: 'interval' },
    opts: SYNC_JOB_RETENTION
  })
}
