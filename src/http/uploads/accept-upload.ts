import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify'
import { HttpError, unavailable } from '../../core/http-error.ts'
import { requestFingerprint } from '../../core/idempotency.ts'
import type { JobOutcome } from '../../queue/job-waiter.ts'
import { enqueueUploads } from '../../queue/producer.ts'
import type { UploadJobData, UploadManifest } from '../../queue/upload-jobs.ts'
import { writeManifest } from '../../staging/manifest.ts'
import { removeStaged } from '../../staging/staged-files.ts'
import { fileResult, type FileResultBody } from './file-result.ts'
import type { ReceivedUpload } from './receive-multipart.ts'
import { uploadJobs } from './upload-jobs.ts'

export interface UploadAnswer {
  phoneNumber: string
  results: FileResultBody[]
}

export interface Idempotency {
  key: string
  /** Whose key it is: the API key's id when the client has one, else the phone number. */
  scope: string
}

/**
 * The pipeline every upload route shares once the files are staged: a manifest beside each
 * file (durable before accepted), the Idempotency-Key (a retry is answered for the first
 * request), one job per file queued atomically, then the wait for their outcomes.
 */
export async function acceptUpload (fastify: FastifyInstance, log: FastifyBaseLogger, received: ReceivedUpload, idempotency?: Idempotency): Promise<UploadAnswer> {
  const { upload, worker } = fastify.config
  const { queue, waiter, idempotency: keys } = fastify.uploadQueue
  const jobs = uploadJobs(received)
  const phoneNumber = received.phoneNumber
  const staged = jobs.map(job => job.stagedPath)
  try {
    await writeManifests(jobs, idempotency?.key)
  } catch (err) {
    await removeStaged(staged)
    throw err
  }

  /** Queues the jobs (all or none) and waits for their outcomes, up to UPLOAD_WAIT_MS. */
  const queueAndWait = async (): Promise<JobOutcome[]> => {
    // Waiting first, then adding: no event of these jobs can slip by, so no first read is needed.
    const outcomes = Promise.all(jobs.map(job => waiter.wait(job.uploadId, upload.waitMs, { readFirst: false })))
    try {
      await enqueueUploads(queue, jobs, worker.attempts)
    } catch (err) {
      waiter.forget(jobs.map(job => job.uploadId))
      await removeStaged(staged)
      throw err
    }
    return outcomes
  }
  const answerFor = (outcomes: JobOutcome[]): UploadAnswer =>
    ({ phoneNumber, results: jobs.map((job, i) => fileResult(job.uploadId, job.fileName, outcomes[i]!)) })

  if (idempotency === undefined) return answerFor(await queueAndWait())

  const claim = { fingerprint: requestFingerprint(phoneNumber, received.files), phoneNumber, files: jobs.map(j => ({ uploadId: j.uploadId, fileName: j.fileName })) }
  let earlier
  try {
    earlier = await keys.claim(idempotency.scope, idempotency.key, claim)
  } catch (err) {
    await removeStaged(staged)
    throw Object.assign(unavailable('The upload service is temporarily unavailable. Please retry shortly.'), { cause: err })
  }
  if (earlier) {
    // A retry: its bytes are the first request's, already accepted; answer for those.
    await removeStaged(staged)
    if (earlier.fingerprint !== claim.fingerprint) {
      throw new HttpError(422, 'This Idempotency-Key was already used for a different upload (another phone number, other files, or another order). Send a new key for a new upload.')
    }
    log.info({ phone: phoneNumber, uploadIds: earlier.files.map(f => f.uploadId) }, 'idempotent retry: answering for the first request')
    const outcomes = await Promise.all(earlier.files.map(f => waiter.wait(f.uploadId, upload.waitMs)))
    return { phoneNumber: earlier.phoneNumber, results: earlier.files.map((f, i) => fileResult(f.uploadId, f.fileName, outcomes[i]!)) }
  }
  try {
    return answerFor(await queueAndWait())
  } catch (err) {
    // Nothing was queued: the key is free for the client's retry.
    await keys.release(idempotency.scope, idempotency.key, claim).catch(() => {})
    throw err
  }
}

/** 200 when every file is stored, 202 while some are still processing, 500 when one failed. */
export function sendUploadAnswer (reply: FastifyReply, { phoneNumber, results }: UploadAnswer): FastifyReply {
  if (results.some(r => r.status === 'failed')) {
    reply.log.warn({ phone: phoneNumber, failed: results.filter(r => r.status === 'failed') }, 'upload failed')
    return reply.code(500).send({ message: 'Failed to upload all images.', phone_number: phoneNumber, results })
  }
  if (results.some(r => r.status === 'pending')) {
    return reply.code(202).send({ message: 'Upload accepted; some images are still being processed.', phone_number: phoneNumber, results })
  }
  return reply.code(200).send({ phone_number: phoneNumber, results })
}

async function writeManifests (jobs: UploadJobData[], idempotencyKey: string | undefined): Promise<void> {
  const acceptedAt = new Date().toISOString()
  await Promise.all(jobs.map(job => writeManifest(job.stagedPath, { job, idempotencyKey, acceptedAt } satisfies UploadManifest)))
}
