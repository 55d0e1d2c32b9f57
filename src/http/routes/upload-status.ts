import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { HttpError } from '../../core/http-error.ts'
import { UploadStatusParams, uploadStatusResponses } from '../schemas/upload-status.ts'
import { fileResult } from '../uploads/file-result.ts'

// Follows up a 202, or any upload: where one file stands.
const uploadStatusRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/api/uploads/:upload_id', {
    schema: {
      operationId: 'getUploadStatus',
      summary: 'Status of one uploaded file',
      description: 'Follows up a 202 (or any upload): where one file stands, by its `upload_id`.',
      tags: ['images'],
      params: UploadStatusParams,
      response: uploadStatusResponses
    }
  }, async (request) => {
    const uploadId = request.params.upload_id
    // The record is the truth for stored files, the queue for the rest, and a job Redis lost is
    // queued again from its manifest: an accepted upload is never "not found".
    const known = await fastify.uploadQueue.find(uploadId)
    if (!known) throw new HttpError(404, 'Upload not found.')
    return { phone_number: known.phoneNumber, ...fileResult(uploadId, known.fileName, known.outcome, fastify.config.publicBaseUrl) }
  })
}

export default uploadStatusRoutes
