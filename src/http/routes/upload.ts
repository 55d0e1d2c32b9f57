import multipart from '@fastify/multipart'
import { idempotencyKeyOf } from '../../core/idempotency.ts'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { MultipartBody, uploadResponses } from '../schemas/upload.ts'
import { ensureDir } from '../../staging/staged-files.ts'
import { acceptUpload, sendUploadAnswer } from '../uploads/accept-upload.ts'
import { receiveUpload } from '../uploads/receive-multipart.ts'

const uploadRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  // Registered here, not globally, so other scopes (the admin) can parse bodies their own way.
  await fastify.register(multipart)
  // Any other body type reaches the handler unread and gets the contract's 400, not a 415.
  fastify.addContentTypeParser('*', (_request, _payload, done) => { done(null) })
  const { upload, stagingDir } = fastify.config
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
    // Keys are scoped per client credential: the API key (an id of 24 hex digits) when the
    // request carries one, else the phone number (at most 15 digits), so the two never meet.
    const idempotency = key === undefined ? undefined : { key, scope: request.apiKey?.id ?? received.phoneNumber }
    return sendUploadAnswer(reply, await acceptUpload(fastify, request.log, received, idempotency))
  })
}

export default uploadRoutes
