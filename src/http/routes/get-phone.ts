import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { badRequest, HttpError } from '../../core/http-error.ts'
import { imageUrls } from '../../core/image-variants.ts'
import { GetPhoneQuery, getPhoneResponses } from '../schemas/get-phone.ts'
import { normalizePhoneNumber } from '../../core/phone-number.ts'

const getPhoneRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/api/get-phone/', {
    schema: {
      operationId: 'getPhoneImages',
      summary: 'Every image URL recorded for a phone number',
      description: 'The stored file names and raw image URLs of one phone number, newest first (`image_urls`, the original contract), and each image with its id, time and stable URLs (`images`).',
      tags: ['images'],
      querystring: GetPhoneQuery,
      response: getPhoneResponses
    }
  }, async (request) => {
    const raw = request.query.phone_number
    if (raw === undefined || raw.trim() === '') throw badRequest('Phone number is required.')
    const phone = normalizePhoneNumber(raw)
    if (!phone.ok) throw badRequest(phone.message)

    const images = await fastify.db.images
      .find({ phone_number: phone.phoneNumber }, { file_name: 1, image_url: 1, uploaded_at: 1 })
      .sort({ uploaded_at: -1 })
      .lean()
    if (images.length === 0) throw new HttpError(404, 'No images found for the provided phone number.')
    const base = fastify.config.publicBaseUrl
    return {
      phone_number: phone.phoneNumber,
      image_urls: Object.fromEntries(images.map(i => [i.file_name, i.image_url])),
      images: images.map(i => {
        const uploadId = i._id.toHexString()
        return { upload_id: uploadId, file_name: i.file_name, image_url: i.image_url, uploaded_at: i.uploaded_at.toISOString(), urls: imageUrls(base, uploadId) }
      })
    }
  })
}

export default getPhoneRoutes
