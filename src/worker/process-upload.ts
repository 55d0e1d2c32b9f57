import { RateLimitError, UnrecoverableError, type Job } from 'bullmq'
import type { Logger } from 'pino'
import { recordId, type ImageModel } from '../models/image.ts'
import type { UploadJobData, UploadJobResult } from '../queue/upload-jobs.ts'
import { StoragePermanentError, StorageRateLimitError } from '../storage/errors.ts'
import type { Storage } from '../storage/storage.ts'
import { removeFile } from '../staging/staged-files.ts'
import type { StagingArea } from '../staging/staging-area.ts'
import { isUploadId } from '../core/upload-id.ts'
import { COMMITTING_TTL_MS } from '../queue/dropbox-sync-state.ts'
import type { CommitMarks } from './dropbox-sync/start-sync.ts'
import type { RecordWriter } from './record-writer.ts'

export interface UploadDeps {
  storage: Storage
  /** Where the job's bytes wait (STAGING: this machine's directory, or S3). */
  staging: StagingArea
  images: ImageModel
  records: RecordWriter
  logger: Logger
  /** Pauses the whole queue (every worker process) for this long: Dropbox asked us to wait. */
  pauseQueue: (ms: number) => Promise<void>
  /**
   * With the Dropbox sync on: marks the file while it is stored and recorded, so a sync that sees
   * it in Dropbox before its record exists leaves the record to this job.
   */
  commits?: CommitMarks
  /**
   * Called once the record is written (and again by a rerun that finds it): queues the image's
   * display rendering and thumbnail (idempotent, by upload id). Absent: VARIANTS_ENABLED=false.
   */
  onRecorded?: (uploadId: string) => Promise<void>
}

export type UploadJob = Pick<Job<UploadJobData, UploadJobResult>, 'id' | 'data' | 'attemptsStarted' | 'updateData'>

/**
 * One staged file to storage and to MongoDB. Every step is idempotent, so a job that runs twice
 * (a retry, a worker killed mid-way and its job taken over) leaves one file and one record:
 * storage does not write identical bytes twice, and the record's _id is the upload id.
 * The staged file is deleted only once the record is written.
 */
export async function processUpload (job: UploadJob, deps: UploadDeps): Promise<UploadJobResult> {
  const { data } = job
  const { logger } = deps
  // requestId: the upload request's X-Request-Id, so its lines in the API and here can be joined.
  const log = logger.child({ uploadId: data.uploadId, phone: data.phoneNumber, attempt: job.attemptsStarted, ...(data.requestId === undefined ? {} : { requestId: data.requestId }) })

  // Only a job that ran before (a retry, or taken over from a dead worker) can have a record.
  const earlier = job.attemptsStarted > 1 ? await recordedResult(job, deps) : undefined
  if (earlier) return earlier

  // The bytes on this machine (with S3 staging, a download into this worker's scratch).
  const localPath = await deps.staging.localCopy(data)
  if (localPath === undefined) {
    // A run of this job that overlapped this one (its lock lost) may have finished meanwhile.
    const finished = await recordedResult(job, deps)
    if (finished) return finished
    throw new UnrecoverableError(`the staged file of upload ${data.uploadId} is missing`)
  }

  // Marked until the record is written. A failed attempt leaves its mark (it expires): the file
  // may be in Dropbox already, and its retry will record it.
  const markedAt = Date.now()
  try {
    await deps.commits?.mark(data.phoneNumber, data.contentHash)
    const result = await storeAndRecord(job, deps, log, localPath, markedAt)
    await deps.commits?.unmark(data.phoneNumber, data.contentHash).catch(() => {})
    return result
  } finally {
    // A download is this attempt's alone; the next one fetches its own.
    if (localPath !== data.stagedPath) await removeFile(localPath)
  }
}

async function storeAndRecord (job: UploadJob, deps: UploadDeps, log: Logger, localPath: string, markedAt: number): Promise<UploadJobResult> {
  const { data } = job
  const { storage } = deps
  let stored, imageUrl
  try {
    // Where an earlier attempt put the file, when it is still there: a storage that renamed it
    // ("name (1).jpg") is not asked to store it again, so no retry leaves a second copy.
    stored = data.stored && await storage.holds(data.stored)
      ? data.stored
      : await storage.put({ stagedPath: localPath, folder: data.phoneNumber, name: data.fileName, size: data.size, contentHash: data.contentHash })
    // Only a renamed file needs remembering: at the requested name, storing the same bytes again
    // is a no-op anyway.
    if (stored !== data.stored && stored.name !== data.fileName) await job.updateData({ ...data, stored })
    imageUrl = await storage.publicUrl(stored)
  } catch (err) {
    throw await asJobError(err, deps, log)
  }

  await deps.records.insert({
    _id: recordId(data.uploadId),
    phone_number: data.phoneNumber,
    file_name: stored.name,
    image_url: imageUrl,
    // When the file arrived, as its name says, not when a worker got to it.
    uploaded_at: new Date(data.receivedAt),
    // As sent, but for NUL, which no name holds on purpose and some stores refuse (PostgreSQL's
    // jsonb, under the embedded FerretDB: the record could never be written).
    original_name: data.originalName.replaceAll('\u0000', '\uFFFD'),
    storage: storage.kind,
    storage_path: stored.path,
    size: stored.size,
    content_type: data.contentType,
    content_hash: data.contentHash,
    ...(stored.id !== undefined ? { dropbox_id: stored.id } : {})
  }, {
    // This attempt's mark kept the sync off the file it committed, unless the file was in
    // Dropbox before (an earlier attempt stored it) or the mark may have run out: then the sync
    // may have recorded it, and that record must go. Otherwise no extra write on the hot path.
    replacesSyncRecord: deps.commits !== undefined && (job.attemptsStarted > 1 || Date.now() - markedAt > COMMITTING_TTL_MS / 2)
  })
  // Never delays the answer by more than a queue add: the renderings are made elsewhere.
  await deps.onRecorded?.(data.uploadId)
  await deps.staging.remove([data])
  log.info({ path: stored.path, size: stored.size }, 'image stored')
  return resultOf(storage, stored.name, imageUrl, stored.path, stored.size)
}

/** The result of an earlier run that got as far as the record; removes what it left staged. */
async function recordedResult (job: UploadJob, { images, storage, staging, onRecorded }: UploadDeps): Promise<UploadJobResult | undefined> {
  // A job not made by the upload endpoint (one queued by hand) has no record to find.
  if (!isUploadId(job.data.uploadId)) return undefined
  const recorded = await images.findById(recordId(job.data.uploadId)).lean()
  if (!recorded) return undefined
  // The earlier run may have died between its record and its variant job.
  await onRecorded?.(job.data.uploadId)
  await staging.remove([job.data])
  return resultOf(storage, recorded.file_name, recorded.image_url, recorded.storage_path, recorded.size)
}

function resultOf (storage: Storage, fileName: string, imageUrl: string, storagePath: string, size: number): UploadJobResult {
  return { fileName, imageUrl, message: storage.successMessage(fileName), storagePath, size }
}

/**
 * Maps storage errors onto BullMQ's retry semantics: a refusal no retry can change fails the job
 * at once (its reason reaches the client); a 429 pauses the queue and puts the job back without
 * spending an attempt; anything else is retried with backoff.
 */
async function asJobError (err: unknown, deps: UploadDeps, log: Logger): Promise<Error> {
  if (err instanceof StoragePermanentError) return new UnrecoverableError(err.message)
  if (err instanceof StorageRateLimitError) {
    log.warn({ retryAfterMs: err.retryAfterMs, reason: err.reason }, 'storage rate limit: pausing the queue')
    await deps.pauseQueue(err.retryAfterMs)
    return new RateLimitError()
  }
  log.warn({ err }, 'upload attempt failed; will retry')
  return err as Error
}
