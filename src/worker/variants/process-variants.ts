import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { RateLimitError, UnrecoverableError, type Job } from 'bullmq'
import type { Logger } from 'pino'
import { VARIANTS, variantFolder, variantPath, type VariantName } from '../../core/image-variants.ts'
import { isUploadId } from '../../core/upload-id.ts'
import { recordId, type ImageModel } from '../../models/image.ts'
import type { VariantJobData, VariantJobResult } from '../../queue/variant-jobs.ts'
import { StoragePermanentError, StorageRateLimitError } from '../../storage/errors.ts'
import type { Storage } from '../../storage/storage.ts'
import type { HeicDecoder } from './heic-decoder.ts'
import { renderVariants, type RenderLimits } from './render.ts'
import { UnrenderableImageError } from './unrenderable.ts'

export interface VariantDeps {
  storage: Storage
  images: ImageModel
  heic: HeicDecoder
  limits: RenderLimits
  /** Where each job gets a folder for the original and intermediate files. */
  workDir: string
  logger: Logger
  /** Pauses the whole variants queue: storage asked us to wait. */
  pauseQueue: (ms: number) => Promise<void>
}

export type VariantJob = Pick<Job<VariantJobData, VariantJobResult>, 'id' | 'data' | 'attemptsStarted'>

interface Source {
  storage: string
  storage_path: string
  content_type: string
  variants?: { status: 'ready' | 'failed', reason?: string | null } | null
}

/**
 * One image's display rendering and thumbnail, from its stored original to storage, then onto
 * its record. Idempotent: a record with its variants already made ends the job at once, and the
 * renderings are written at fixed paths (a rerun replaces them with the same bytes). An image
 * that cannot be rendered gets that reason on its record, once, and no retry; a storage failure
 * is retried. A record deleted while its variants were being made loses them again.
 */
export async function processVariants (job: VariantJob, deps: VariantDeps): Promise<VariantJobResult> {
  const { uploadId } = job.data
  const { storage, images } = deps
  if (!isUploadId(uploadId)) throw new UnrecoverableError(`${uploadId} is not an upload id`)
  const log = deps.logger.child({ uploadId, attempt: job.attemptsStarted })
  const _id = recordId(uploadId)

  const record = await images.findById(_id, { storage: 1, storage_path: 1, content_type: 1, variants: 1 }).lean<Source>()
  if (!record) return { status: 'gone' }
  if (record.variants?.status === 'ready') return { status: 'ready' }
  if (record.variants?.status === 'failed') return { status: 'failed', reason: record.variants.reason ?? 'unknown' }
  if (record.storage !== storage.kind) {
    throw new UnrecoverableError(`the image is in ${record.storage} storage, and this worker is configured for ${storage.kind}`)
  }

  const dir = await mkdtemp(join(deps.workDir, `${uploadId}-`))
  try {
    const source = join(dir, 'original')
    const original = await storage.read(record.storage_path)
    if (!original) return await recordFailure(deps, uploadId, `the stored file ${record.storage_path} is gone from storage`, log)
    await pipeline(original.body, createWriteStream(source))

    let renderings
    const started = performance.now()
    try {
      renderings = await renderVariants(source, record.content_type, dir, deps.limits, deps.heic)
    } catch (err) {
      if (err instanceof UnrenderableImageError) return await recordFailure(deps, uploadId, err.message, log)
      throw err
    }
    const renderMs = Math.round(performance.now() - started)

    const made: Partial<Record<VariantName, object>> = {}
    for (const name of VARIANTS) {
      const r = renderings[name]
      const written = await storage.write(variantPath(uploadId, name, r.extension), r.bytes)
      made[name] = { path: written.path, content_type: r.contentType, size: written.size, content_hash: written.contentHash, width: r.width, height: r.height }
    }
    const { matchedCount } = await images.updateOne({ _id }, { $set: { variants: { status: 'ready', ...made, made_at: new Date() } } })
    if (matchedCount === 0) {
      // Deleted while we worked: what we wrote must not outlive it.
      await storage.remove(variantFolder(uploadId))
      return { status: 'gone' }
    }
    log.info({ renderMs, display: `${renderings.display.width}x${renderings.display.height}` }, 'variants made')
    return { status: 'ready' }
  } catch (err) {
    throw await asJobError(err, deps, log)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function recordFailure (deps: VariantDeps, uploadId: string, reason: string, log: Logger): Promise<VariantJobResult> {
  log.warn({ reason }, 'image cannot be rendered')
  await deps.images.updateOne({ _id: recordId(uploadId) }, { $set: { variants: { status: 'failed', reason, made_at: new Date() } } })
  return { status: 'failed', reason }
}

/** Storage errors onto BullMQ's retries, as for uploads (worker/process-upload.ts). */
async function asJobError (err: unknown, deps: VariantDeps, log: Logger): Promise<Error> {
  if (err instanceof StoragePermanentError) return new UnrecoverableError(err.message)
  if (err instanceof StorageRateLimitError) {
    log.warn({ retryAfterMs: err.retryAfterMs }, 'storage rate limit: pausing the variants queue')
    await deps.pauseQueue(err.retryAfterMs)
    return new RateLimitError()
  }
  log.warn({ err }, 'variant attempt failed; will retry')
  return err as Error
}
