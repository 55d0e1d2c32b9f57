import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Static } from 'typebox'
import { HttpError } from '../../core/http-error.ts'
import type { VariantName } from '../../core/image-variants.ts'
import { recordId } from '../../models/image.ts'
import { NOT_CACHED, serveStored } from '../images/serve-stored.ts'
import { ImageParams, imageResponses, VariantParams, variantResponses } from '../schemas/images.ts'

const FIELDS = { storage: 1, storage_path: 1, size: 1, content_hash: 1, content_type: 1, file_name: 1, variants: 1 }
const notFound = (): HttpError => new HttpError(404, 'Image not found.', NOT_CACHED)
const RETRY_VARIANT_SECONDS = '3'

// The stable image URLs: GET /i/{upload_id} and its renderings. Public, like the raw links they
// stand beside (outside /api, so API_AUTH never applies), unguessable (upload ids are random),
// and served from storage by this service, so a Dropbox link ban never reaches them.
const imageRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const find = (uploadId: string) => fastify.db.images.findById(recordId(uploadId), FIELDS).lean()

  const original = async (request: FastifyRequest<{ Params: Static<typeof ImageParams> }>, reply: FastifyReply): Promise<FastifyReply> => {
    const image = await find(request.params.upload_id)
    if (!image || image.storage !== fastify.storage.kind) throw notFound()
    return serveStored(request, reply, fastify.storage, {
      path: image.storage_path, size: image.size, contentHash: image.content_hash, contentType: image.content_type, fileName: image.file_name
    })
  }

  const rendering = async (request: FastifyRequest<{ Params: Static<typeof VariantParams> }>, reply: FastifyReply): Promise<FastifyReply> => {
    const { upload_id: uploadId, variant } = request.params
    const image = await find(uploadId)
    if (!image) throw notFound()
    const variants = image.variants
    if (!variants) {
      if (!fastify.config.variants.enabled) throw new HttpError(404, `This service makes no renderings (VARIANTS_ENABLED=false): use /i/${uploadId}.`, NOT_CACHED)
      // Stored before renderings existed, or its job lost: ask for it (once), answer "soon".
      await fastify.variantQueue.request(uploadId).catch(err => request.log.warn({ err, uploadId }, 'could not queue the renderings'))
      throw new HttpError(503, `The ${variant} rendering of this image is being made. Retry in a few seconds.`, { 'retry-after': RETRY_VARIANT_SECONDS, ...NOT_CACHED })
    }
    const file = variants[variant as VariantName]
    if (variants.status === 'failed' || !file) {
      throw new HttpError(404, `This image has no ${variant} rendering: ${variants.reason ?? 'it could not be made'}.`, NOT_CACHED)
    }
    return serveStored(request, reply, fastify.storage, { path: file.path, size: file.size, contentHash: file.content_hash, contentType: file.content_type })
  }

  // HEAD is routed explicitly (and left out of the document): Fastify's own HEAD route would
  // replace the Content-Length a HEAD answers with; serveStored reads nothing for HEAD.
  fastify.head('/i/:upload_id', { schema: { hide: true, params: ImageParams } }, original)
  fastify.head('/i/:upload_id/:variant', { schema: { hide: true, params: VariantParams } }, rendering)

  fastify.get('/i/:upload_id', {
    exposeHeadRoute: false,
    schema: {
      operationId: 'getImage',
      summary: 'The stored image',
      description: 'The image as uploaded, byte for byte, streamed from storage (never through a Dropbox shared link). Public, cacheable for good; supports `If-None-Match`, one `Range` (with `If-Range`), and HEAD.',
      tags: ['images'],
      params: ImageParams,
      response: imageResponses('The image', ['image/*'])
    }
  }, original)

  fastify.get('/i/:upload_id/:variant', {
    exposeHeadRoute: false,
    schema: {
      operationId: 'getImageRendering',
      summary: 'A rendering of the image any browser shows',
      description: '`display`: JPEG (WebP when the image is transparent), at most 2048 px on its long side; `thumbnail`: WebP, at most 320 px. Both upright (EXIF orientation applied), sRGB, without metadata, the first frame of an animation. Made by the variant worker soon after the upload: until then 503 with `Retry-After`; an image that cannot be rendered answers 404 saying why. Caching, ranges and HEAD as for the image.',
      tags: ['images'],
      params: VariantParams,
      response: variantResponses
    }
  }, rendering)
}

export default imageRoutes
