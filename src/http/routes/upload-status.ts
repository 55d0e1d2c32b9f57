import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { HttpError } from '../../core/http-error.ts'
import { recordId } from '../../models/image.ts'
import { outcomeOf, type JobOutcome } from '../../queue/job-waiter.ts'
import { UploadStatusParams, uploadStatusResponses } from '../schemas/upload-status.ts'
import { fileResult } from '../uploads/file-result.ts'

// Follows up a 202: the record in MongoDB is the truth for stored files; the queue knows the rest.
const uploadStatusRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/api/uploads/:upload_id', {
    schema: {
      summary: 'Status of one uploaded file',
      tags: ['images'],
      params: UploadStatusParams,
      response: uploadStatusResponses
    }
  }, async (request) => {
    const uploadId = request.params.upload_id
    const image = await fastify.db.images.findById(recordId(uploadId)).lean()
    if (image) {
      const outcome: JobOutcome = {
        status: 'completed',
        result: { fileName: image.file_name, imageUrl: image.image_url, message: fastify.storage.successMessage(image.file_name), storagePath: image.storage_path, size: image.size }
      }
      return { phone_number: image.phone_number, ...fileResult(uploadId, image.file_name, outcome) }
    }
    const job = await fastify.uploadQueue.queue.getJob(uploadId)
    if (!job) throw new HttpError(404, 'Upload not found.')
    return { phone_number: job.data.phoneNumber, ...fileResult(uploadId, job.data.fileName, outcomeOf(job)) }
  })
}

export default uploadStatusRoutes
