import type { Queue } from 'bullmq'
import type { Logger } from 'pino'
import { recordId, type ImageModel } from '../models/image.ts'
import { enqueueUploads } from '../queue/producer.ts'
import { isUploadManifest } from '../queue/upload-jobs.ts'
import { MANIFEST_SUFFIX } from '../staging/manifest.ts'
import { PARTIAL_SUFFIX } from '../staging/staged-files.ts'
import type { AreaEntry, StagingArea } from '../staging/staging-area.ts'

/** Older than any upload still being received (requests time out after 10 minutes). */
export const ORPHAN_AGE_MS = 60 * 60 * 1000
export const SWEEP_INTERVAL_MS = 10 * 60 * 1000
/** A partial file is swept once it has not grown for the idle timeout and this much more. */
export const PARTIAL_MARGIN_MS = 60 * 1000
/**
 * A staged file with a manifest but no job this long after it was written lost its job (Redis
 * restarted without its data, or the API died between manifest and queueing): it is queued again.
 */
export const REQUEUE_AGE_MS = 2 * 60 * 1000

/** Given, the sweeper queues again accepted files whose job Redis lost, instead of removing them. */
export interface RequeueDeps {
  images: ImageModel
  attempts: number
}

export interface SweepSettings {
  /** UPLOAD_IDLE_TIMEOUT_MS: no live upload leaves its partial file unwritten for longer. */
  idleTimeoutMs: number
  /** FAILED_STAGED_RETENTION_SECONDS, in ms: how long a job failed for good keeps its file. */
  failedRetentionMs: number
}

/** The upload id a staging entry belongs to: `<id>`, `<id>.partial`, `<id>.json`, `<id>.json.tmp`. */
function uploadIdOf (name: string): { id: string, partial: boolean } {
  if (name.endsWith(PARTIAL_SUFFIX)) return { id: name.slice(0, -PARTIAL_SUFFIX.length), partial: true }
  const manifestAt = name.indexOf(MANIFEST_SUFFIX)
  return { id: manifestAt > 0 ? name.slice(0, manifestAt) : name, partial: false }
}

/**
 * Removes staged files nothing will ever read, and returns the names removed:
 * - partial files (`<id>.partial`) that stopped growing longer ago than the upload idle timeout
 *   (plus a margin): a live upload is cut off by then, so an API died while receiving them;
 * - files whose job is gone (an API that died between staging and queueing, or a failed job past
 *   its retention) or completed, once older than ORPHAN_AGE_MS;
 * - files of jobs that failed for good longer ago than the failed retention.
 * Files of waiting, active and delayed jobs stay, and failed ones within their retention: the
 * dashboard can still retry them. A manifest (`<id>.json`) shares its file's fate. An accepted
 * file (one with a manifest) whose job is gone and that has no record is never removed: it is
 * queued again from its manifest, under the same upload id (with `requeue` given).
 */
export async function sweepStaging (staging: StagingArea, queue: Queue, logger: Logger, settings: SweepSettings, now = Date.now(), requeue?: RequeueDeps): Promise<string[]> {
  const removed: string[] = []
  const entries: AreaEntry[] = []
  for await (const entry of staging.entries()) entries.push(entry)
  const names = new Set(entries.map(e => e.name))
  const decided = new Map<string, 'remove' | 'keep' | 'requeue'>()
  const decide = async (id: string): Promise<'remove' | 'keep' | 'requeue'> => {
    const job = await queue.getJob(id)
    const state = job ? await job.getState() : 'gone'
    if (state === 'completed') return 'remove'
    if (state === 'failed') return now - (job?.finishedOn ?? now) >= settings.failedRetentionMs ? 'remove' : 'keep'
    if (state !== 'gone' && state !== 'unknown') return 'keep'
    if (!requeue) return 'remove'
    if (await requeue.images.exists({ _id: recordId(id) }).catch(() => null)) return 'remove'
    const manifest = await staging.readManifest(id).catch(() => undefined)
    return isUploadManifest(manifest, id) && names.has(id) ? 'requeue' : 'remove'
  }
  const requeued: string[] = []
  for (const { name, mtimeMs } of entries) {
    const { id, partial } = uploadIdOf(name)
    const age = now - mtimeMs
    if (partial) {
      if (age < settings.idleTimeoutMs + PARTIAL_MARGIN_MS) continue
      await staging.removeEntry(name)
      removed.push(name)
      continue
    }
    if (age < REQUEUE_AGE_MS) continue
    // The bytes and their manifest go together: one decision per upload id.
    if (!decided.has(id)) decided.set(id, await decide(id))
    const decision = decided.get(id)
    if (decision === 'requeue' && name === id) {
      const manifest = await staging.readManifest(id)
      if (isUploadManifest(manifest, id)) {
        await enqueueUploads(queue, [manifest.job], requeue!.attempts)
        requeued.push(id)
      }
    } else if (decision === 'remove' && age >= ORPHAN_AGE_MS) {
      await staging.removeEntry(name)
      removed.push(name)
    }
  }
  // S3: the parts of large files whose API died while sending them.
  const aborted = await staging.abortAbandoned?.(ORPHAN_AGE_MS) ?? 0
  if (aborted > 0) logger.info({ aborted }, 'aborted abandoned multipart uploads of staged files')
  if (requeued.length > 0) logger.warn({ uploadIds: requeued }, 'accepted files whose job was lost queued again from their manifests')
  if (removed.length > 0) logger.info({ removed: removed.length }, 'removed orphaned staged files')
  return removed
}
