import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import { Types } from 'mongoose'
import type { ImageModel } from '../../models/image.ts'
import { enqueueVariants, type VariantQueue } from '../../queue/variant-jobs.ts'

export interface BackfillOptions {
  /** Most jobs queued per second. */
  perSecond: number
  /** Queuing pauses while this many variant jobs wait already (the variant workers set the pace). */
  maxWaiting: number
  /** Also the images whose rendering failed (after raising VARIANT_MAX_INPUT_PIXELS, say). */
  includeFailed: boolean
  /** Start from the first record, not from where an interrupted run stopped. */
  restart: boolean
  /** Only count what would be queued. */
  dryRun: boolean
  /** Records read per query. */
  batchSize?: number
  /** Stops after the batch under way (Ctrl-C); the next run resumes there. */
  signal?: AbortSignal
  onProgress?: (progress: BackfillProgress) => void
}

export interface BackfillProgress {
  /** Records found without renderings (or with failed ones, when included). */
  found: number
  queued: number
  /** Where the next run resumes (the last record id done), until the run completes. */
  after?: string
  done: boolean
}

export interface BackfillTarget {
  images: ImageModel
  queue: VariantQueue
  /** Where the checkpoint is kept (the queue's Redis). */
  redis: Redis
  checkpointKey: string
  /** Only images in this storage: the variant worker reads the configured one. */
  storage: 'dropbox' | 'local'
  attempts: number
}

/**
 * Queues the variant job of every image stored without renderings (before they existed), in _id
 * order from a checkpoint kept in Redis after each batch: interrupted, the next run resumes where
 * this one stopped; finished, the checkpoint goes. Rate-limited twice: at most `perSecond` jobs a
 * second, and none while `maxWaiting` already wait. Jobs are idempotent (their id is the upload
 * id, and a record with renderings ends its job at once), so queuing one twice costs nothing.
 */
export async function backfillVariants (target: BackfillTarget, options: BackfillOptions): Promise<BackfillProgress> {
  const { images, queue, redis, checkpointKey } = target
  const batchSize = options.batchSize ?? 100
  let after = options.restart ? undefined : (await redis.get(checkpointKey) ?? undefined)
  const progress: BackfillProgress = { found: 0, queued: 0, after, done: false }
  const missing: Record<string, unknown> = options.includeFailed
    ? { $or: [{ variants: { $exists: false } }, { 'variants.status': 'failed' }] }
    : { variants: { $exists: false } }
  const started = Date.now()

  while (!options.signal?.aborted) {
    const filter: Record<string, unknown> = { storage: target.storage, ...missing, ...(after ? { _id: { $gt: new Types.ObjectId(after) } } : {}) }
    const batch = await images.find(filter, { _id: 1, variants: 1 }).sort({ _id: 1 }).limit(batchSize).lean<Array<{ _id: Types.ObjectId, variants?: { status: string } }>>()
    if (batch.length === 0) {
      progress.done = true
      if (!options.dryRun) await redis.del(checkpointKey)
      progress.after = undefined
      break
    }
    progress.found += batch.length
    const ids = batch.map(r => r._id.toHexString())
    if (!options.dryRun) {
      while (await queue.getWaitingCount() >= options.maxWaiting) {
        if (options.signal?.aborted) return progress
        await sleep(1000)
      }
      const failed = batch.filter(r => r.variants?.status === 'failed').map(r => r._id)
      // A failed rendering is forgotten, so the job renders again instead of ending at once.
      if (failed.length > 0) await images.updateMany({ _id: { $in: failed }, 'variants.status': 'failed' }, { $unset: { variants: 1 } })
      await enqueueVariants(queue, ids, target.attempts, { retryFailed: true })
      progress.queued += ids.length
      await redis.set(checkpointKey, ids.at(-1)!)
      // Paced: this many jobs may not have been queued sooner than perSecond allows.
      const due = started + (progress.queued / options.perSecond) * 1000
      if (due > Date.now()) await sleep(due - Date.now())
    }
    after = ids.at(-1)
    progress.after = after
    options.onProgress?.({ ...progress })
  }
  return progress
}
