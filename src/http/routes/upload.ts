import multipart from '@fastify/multipart'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { MultipartBody, uploadResponses } from '../schemas/upload.ts'
import { enqueueUploads } from '../../queue/producer.ts'
import { ensureDir, removeStaged } from '../../staging/staged-files.ts'
import { fileResult } from '../uploads/file-result.ts'
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
      summary: 'Upload one or more images for a phone number',
      description: 'multipart/form-data with a `phone_number` field and image files in `images` (or `images[]`). ' +
        'Answers when every file is stored, or after the wait limit with 202 and the files still processing.',
      tags: ['images'],
      consumes: ['multipart/form-data'],
      response: uploadResponses
    },
    config: { multipartBody: MultipartBody }
  }, async (request, reply) => {
    const received = await receiveUpload(request, stagingDir, upload)
    const jobs = uploadJobs(received)
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
    request.log.debug({ phone: received.phoneNumber, files: jobs.length, uploadIds: jobs.map(j => j.uploadId) }, 'upload queued')

    const settled = await outcomes
    const results = jobs.map((job, i) => fileResult(job.uploadId, job.fileName, settled[i]!))
    const phoneNumber = received.phoneNumber

    if (results.some(r => r.status === 'failed')) {
      request.log.warn({ phone: phoneNumber, failed: results.filter(r => r.status === 'failed') }, 'upload failed')
      return reply.code(500).send({ message: 'Failed to upload all images.', phone_number: phoneNumber, results })
    }
    if (results.some(r => r.status === 'pending')) {
      return reply.code(202).send({ message: 'Upload accepted; some images are still being processed.', phone_number: phoneNumber, results })
    }
    return reply.code(200).send({ phone_number: phoneNumber, results })
  })
}

export default uploadRoutes
