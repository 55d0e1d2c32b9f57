import multipart from '@fastify/multipart'
import type { FastifyBaseLogger, FastifyReply } from 'fastify'
import { HttpError, unavailable } from '../../core/http-error.ts'
import { idempotencyKeyOf, requestFingerprint } from '../../core/idempotency.ts'
import type { JobOutcome } from '../../queue/job-waiter.ts'
import type { UploadJobData, UploadManifest } from '../../queue/upload-jobs.ts'
import { writeManifest } from '../../staging/manifest.ts'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { MultipartBody, uploadResponses } from '../schemas/upload.ts'
import { enqueueUploads } from '../../queue/producer.ts'
import { ensureDir, removeStaged } from '../../staging/staged-files.ts'
import { fileResult, type FileResultBody } from '../uploads/file-result.ts'
import { receiveUpload } from '../uploads/receive-multipart.ts'
import { uploadJobs } from '../uploads/upload-jobs.ts'

const uploadRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  // Registered here, not globally, so other scopes (the admin) can parse bodies their own way.
  await fastify.register(multipart)
  // Any other body type reaches the handler unread and gets the contract's 400, not a 415.
  fastify.addContentTypeParser('*', (_request, _payload, done) => { done(null) })
  const { upload, stagingDir, worker } = fastify.config
  await ensureDir(stagingDir)

  fastify.post('/api/upload/', {
    schema: {
      operationId: 'uploadImages',
      summary: 'Upload one or more images for a phone number',
      description: 'multipart/form-data with a `phone_number` field and image files in `images` (or `images[]`). ' +
        'Answers when every file is stored, or after the wait limit with 202 and the files still processing.',
      tags: ['images'],
      consumes: ['multipart/form-data'],
      // Documents the header, and accepts any value: the handler checks it (core/idempotency.ts).
      headers: {
        type: 'object',
        properties: {
          'Idempotency-Key': {
            type: 'string',
            description: 'Makes a retry safe: the same upload sent again with the same key (1 to 255 printable ASCII characters, per phone number, remembered for a day by default) ' +
              'is answered for the first one instead of being stored twice. The same key with a different upload is a 422.'
          }
        }
      } as const,
      response: uploadResponses
    },
    config: { multipartBody: MultipartBody }
  }, async (request, reply) => {
    // A malformed key is refused before the body is read.
    const key = idempotencyKeyOf(request.headers['idempotency-key'])
    const received = await receiveUpload(request, stagingDir, upload)
    const jobs = uploadJobs(received)
    const { waiter, idempotency } = fastify.uploadQueue
    const phoneNumber = received.phoneNumber
    const staged = jobs.map(job => job.stagedPath)
    try {
      // Durable before it is accepted: each file's manifest sits beside its bytes.
      await writeManifests(jobs, key)
    } catch (err) {
      await removeStaged(staged)
      throw err
    }

    let settled: JobOutcome[]
    if (key === undefined) {
      settled = await queueAndWait(jobs)
    } else {
      const claim = { fingerprint: requestFingerprint(phoneNumber, received.files), phoneNumber, files: jobs.map(j => ({ uploadId: j.uploadId, fileName: j.fileName })) }
      let earlier
      try {
        earlier = await idempotency.claim(phoneNumber, key, claim)
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
        request.log.info({ phone: phoneNumber, uploadIds: earlier.files.map(f => f.uploadId) }, 'idempotent retry: answering for the first request')
        const outcomes = await Promise.all(earlier.files.map(f => waiter.wait(f.uploadId, upload.waitMs)))
        return answer(reply, request.log, earlier.phoneNumber, earlier.files.map((f, i) => fileResult(f.uploadId, f.fileName, outcomes[i]!)))
      }
      try {
        settled = await queueAndWait(jobs)
      } catch (err) {
        // Nothing was queued: the key is free for the client's retry.
        await idempotency.release(phoneNumber, key, claim).catch(() => {})
        throw err
      }
    }
    return answer(reply, request.log, phoneNumber, jobs.map((job, i) => fileResult(job.uploadId, job.fileName, settled[i]!)))
  })

  /** Queues the jobs (all or none) and waits for their outcomes, up to UPLOAD_WAIT_MS. */
  async function queueAndWait (jobs: UploadJobData[]): Promise<JobOutcome[]> {
    const { queue, waiter } = fastify.uploadQueue
    // Waiting first, then adding: no event of these jobs can slip by, so no first read is needed.
    const outcomes = Promise.all(jobs.map(job => waiter.wait(job.uploadId, upload.waitMs, { readFirst: false })))
    try {
      await enqueueUploads(queue, jobs, worker.attempts)
    } catch (err) {
      waiter.forget(jobs.map(job => job.uploadId))
      await removeStaged(jobs.map(job => job.stagedPath))
      throw err
    }
    return outcomes
  }
}

function answer (reply: FastifyReply, log: FastifyBaseLogger, phoneNumber: string, results: FileResultBody[]): FastifyReply {
  if (results.some(r => r.status === 'failed')) {
    log.warn({ phone: phoneNumber, failed: results.filter(r => r.status === 'failed') }, 'upload failed')
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

export default uploadRoutes
