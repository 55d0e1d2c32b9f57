import type { FastifyBaseLogger } from 'fastify'
import { outcomeOf, type JobOutcome } from '../queue/job-waiter.ts'
import { enqueueUploads, type UploadQueue } from '../queue/producer.ts'
import { isUploadManifest } from '../queue/upload-jobs.ts'
import { recordId, type ImageModel } from '../models/image.ts'
import type { StagingArea } from '../staging/staging-area.ts'
import type { Storage } from '../storage/storage.ts'

export interface KnownUpload {
  phoneNumber: string
  fileName: string
  outcome: JobOutcome
}

export interface RecoveryDeps {
  images: ImageModel
  storage: Storage
  queue: UploadQueue
  staging: StagingArea
  attempts: number
  log: FastifyBaseLogger
}

/**
 * Where an upload stands, wherever that is known: its record (stored), its job, or - when Redis
 * lost the job - its manifest in the staging area, from which the job is queued again under
 * the same id (the record and the stored file stay exactly once). Undefined: never accepted.
 */
export async function findUpload (deps: RecoveryDeps, uploadId: string, { jobKnownMissing = false } = {}): Promise<KnownUpload | undefined> {
  const record = await deps.images.findById(recordId(uploadId)).lean()
  if (record) {
    const result = { fileName: record.file_name, imageUrl: record.image_url, message: deps.storage.successMessage(record.file_name), storagePath: record.storage_path, size: record.size }
    return { phoneNumber: record.phone_number, fileName: record.file_name, outcome: { status: 'completed', result } }
  }
  const job = jobKnownMissing ? undefined : await deps.queue.getJob(uploadId)
  if (job) return { phoneNumber: job.data.phoneNumber, fileName: job.data.fileName, outcome: outcomeOf(job) }

  const manifest = await deps.staging.readManifest(uploadId)
  if (!isUploadManifest(manifest, uploadId)) return undefined
  await enqueueUploads(deps.queue, [manifest.job], deps.attempts)
  deps.log.warn({ uploadId }, 'job missing from Redis: queued again from its manifest')
  return { phoneNumber: manifest.job.phoneNumber, fileName: manifest.job.fileName, outcome: { status: 'pending' } }
}
