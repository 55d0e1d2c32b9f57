// The contract of the variants queue: the upload worker (once an image is recorded), the API (a
// variant asked for before it exists), and `npm run backfill-variants` produce; the variant
// worker consumes. One job per image, its id the upload id: adding it again while it exists
// (waiting, running, or failed and kept) adds nothing.
import type { Job, JobsOptions, Queue } from 'bullmq'

export const VARIANT_QUEUE = 'variants'
export const VARIANT_JOB = 'variants'

export interface VariantJobData {
  /** The Image record's _id (hex): the worker reads everything else from the record. */
  uploadId: string
}

export type VariantJobResult =
  | { status: 'ready' }
  /** The image cannot be rendered (corrupt, too large, an unsupported format): recorded, not retried. */
  | { status: 'failed', reason: string }
  /** The record is gone (deleted meanwhile): nothing to do. */
  | { status: 'gone' }

export type VariantQueue = Queue<VariantJobData, VariantJobResult>

// Completed jobs go at once: the record says the variants exist, so a later add (a backfill, an
// early request) finds them there and ends at once. Failed ones (storage down through every
// attempt) stay for the dashboard and a retry.
const FAILED_RETENTION_SECONDS = 14 * 24 * 3600

export function variantJobOptions (attempts: number): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: 2000, jitter: 0.5 },
    removeOnComplete: true,
    removeOnFail: { age: FAILED_RETENTION_SECONDS }
  }
}

/**
 * Queues the variant job of each image (idempotent, by job id). With `retryFailed`, a job that
 * failed for good (its storage down through all its attempts), which would block its id for its
 * retention time, is retried instead (one more Redis read per job: not for the upload path).
 */
export async function enqueueVariants (queue: VariantQueue, uploadIds: string[], attempts: number, { retryFailed = false } = {}): Promise<void> {
  if (uploadIds.length === 0) return
  const jobs = await queue.addBulk(uploadIds.map(uploadId => ({
    name: VARIANT_JOB,
    data: { uploadId },
    opts: { ...variantJobOptions(attempts), jobId: uploadId }
  })))
  if (retryFailed) await Promise.all(jobs.map(retryIfFailed))
}

async function retryIfFailed (job: Job<VariantJobData, VariantJobResult>): Promise<void> {
  // The Job that add() returns is built from the arguments, not read back: ask Redis.
  if (await job.isFailed()) await job.retry('failed')
}
