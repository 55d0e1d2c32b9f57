import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify'
import { HttpError, unavailable } from '../../core/http-error.ts'
import { requestFingerprint } from '../../core/idempotency.ts'
import type { JobOutcome } from '../../queue/job-waiter.ts'
import { enqueueUploads } from '../../queue/producer.ts'
import type { UploadJobData, UploadManifest } from '../../queue/upload-jobs.ts'
import type { StagingArea } from '../../staging/staging-area.ts'
import { fileResult, type FileResultBody } from './file-result.ts'
import { stripLocations } from './strip-location.ts'
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
 * The pipeline every upload route shares once the files are staged: location metadata out
 * (strip-location.ts: a file that cannot be checked is a 422 here, never a failed job), each
 * file and its manifest kept in the staging area (durable before accepted), the Idempotency-Key (a retry is
 * answered for the first request), one job per file queued atomically, then the wait for their
 * outcomes.
 */
export async function acceptUpload (fastify: FastifyInstance, log: FastifyBaseLogger, sent: ReceivedUpload, idempotency?: Idempotency): Promise<UploadAnswer> {
  const { upload, worker } = fastify.config
  const { queue, waiter, idempotency: keys, instance } = fastify.uploadQueue
  // The bytes that will be stored, with their own size and content hash.
  const received = await stripLocations(fastify, log, sent)
  // apiInstance: the workers publish each outcome to this process alone (plugins/upload-queue.ts).
  // stagedPath: where the workers will find the bytes (this directory, or the S3 bucket).
  const { staging } = fastify
  const jobs = uploadJobs(received).map(job => ({ ...job, stagedPath: staging.stagedPathOf(job.uploadId, job.stagedPath), apiInstance: instance }))
  const phoneNumber = received.phoneNumber
  const removeStaged = (): Promise<void> => staging.remove(jobs)
  try {
    await keepAccepted(staging, jobs, received.files.map(f => f.path), idempotency?.key)
  } catch (err) {
    await removeStaged().catch(() => {})
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
      await removeStaged()
      throw err
    }
    fastify.metrics.accepted(jobs.length, jobs.reduce((bytes, job) => bytes + job.size, 0))
    return outcomes
  }
  const answerFor = (outcomes: JobOutcome[]): UploadAnswer =>
    ({ phoneNumber, results: jobs.map((job, i) => fileResult(job.uploadId, job.fileName, outcomes[i]!, fastify.config.publicBaseUrl)) })

  if (idempotency === undefined) return answerFor(await queueAndWait())

  // Fingerprinted as received, before the step above: a retry is known whatever it made of them.
  const claim = { fingerprint: requestFingerprint(phoneNumber, sent.files), phoneNumber, files: jobs.map(j => ({ uploadId: j.uploadId, fileName: j.fileName })) }
  let earlier
  try {
    earlier = await keys.claim(idempotency.scope, idempotency.key, claim)
  } catch (err) {
    await removeStaged()
    throw Object.assign(unavailable('The upload service is temporarily unavailable. Please retry shortly.'), { cause: err })
  }
  if (earlier) {
    // A retry: its bytes are the first request's, already accepted; answer for those.
    await removeStaged()
    if (earlier.fingerprint !== claim.fingerprint) {
      throw new HttpError(422, 'This Idempotency-Key was already used for a different upload (another phone number, other files, or another order). Send a new key for a new upload.')
    }
    log.info({ phone: phoneNumber, uploadIds: earlier.files.map(f => f.uploadId) }, 'idempotent retry: answering for the first request')
    const outcomes = await Promise.all(earlier.files.map(f => waiter.wait(f.uploadId, upload.waitMs)))
    return { phoneNumber: earlier.phoneNumber, results: earlier.files.map((f, i) => fileResult(f.uploadId, f.fileName, outcomes[i]!, fastify.config.publicBaseUrl)) }
  }
  try {
    return answerFor(await queueAndWait())
  } catch (err) {
    // Nothing was queued: the key is free for the client's retry.
    await keys.release(idempotency.scope, idempotency.key, claim).catch(() => {})
    throw err
  }
}

export interface UploadAnswerResponse {
  status: 200 | 202 | 500
  body: { message?: string, phone_number: string, results: FileResultBody[] }
}

/** 200 when every file is stored, 202 while some are still processing, 500 when one failed. */
export function uploadAnswerResponse ({ phoneNumber, results }: UploadAnswer): UploadAnswerResponse {
  if (results.some(r => r.status === 'failed')) {
    return { status: 500, body: { message: 'Failed to upload all images.', phone_number: phoneNumber, results } }
  }
  if (results.some(r => r.status === 'pending')) {
    return { status: 202, body: { message: 'Upload accepted; some images are still being processed.', phone_number: phoneNumber, results } }
  }
  return { status: 200, body: { phone_number: phoneNumber, results } }
}

/** Sends uploadAnswerResponse's status and body (a resumable upload's last PATCH sends them through tus). */
export function sendUploadAnswer (reply: FastifyReply, answer: UploadAnswer): FastifyReply {
  const { status, body } = uploadAnswerResponse(answer)
  if (status === 500) reply.log.warn({ phone: answer.phoneNumber, failed: answer.results.filter(r => r.status === 'failed') }, 'upload failed')
  return reply.code(status).send(body)
}

/** Durable before accepted: each file's bytes and manifest where the workers find them. */
async function keepAccepted (staging: StagingArea, jobs: UploadJobData[], localPaths: string[], idempotencyKey: string | undefined): Promise<void> {
  const acceptedAt = new Date().toISOString()
  await staging.keep(jobs.map((job, i) => ({ uploadId: job.uploadId, localPath: localPaths[i]!, manifest: { job, idempotencyKey, acceptedAt } satisfies UploadManifest })))
}
