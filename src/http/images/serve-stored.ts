import type { FastifyReply, FastifyRequest } from 'fastify'
import { HttpError, unavailable } from '../../core/http-error.ts'
import { StorageRateLimitError, StorageTransientError } from '../../storage/errors.ts'
import type { Storage } from '../../storage/storage.ts'
import { entityTag, notModified, requestedRange } from './http-range.ts'

export interface StoredImage {
  path: string
  size: number
  contentHash: string
  contentType: string
  /** For Content-Disposition: what a browser saving the image names it. */
  fileName?: string
}

/** The bytes under an image URL never change: any cache may keep them for a year. */
export const IMMUTABLE = 'public, max-age=31536000, immutable'

/** What an answer that is not the image says: nobody keeps it (the image may come, or go). */
export const NOT_CACHED = { 'cache-control': 'no-store' }

/**
 * Streams stored bytes from storage (Dropbox's files/download, or the local file), never through
 * a shared link: an ETag (the content hash), immutable caching, one byte range (206, or 416
 * past the end), If-None-Match (304), and headers that keep a browser from taking the bytes for
 * anything but the image they are. Errors are thrown before any header is set, so they carry
 * none of the image's.
 */
export async function serveStored (request: FastifyRequest, reply: FastifyReply, storage: Storage, image: StoredImage): Promise<FastifyReply> {
  const etag = entityTag(image.contentHash)
  const headers: Record<string, string> = {
    etag,
    'cache-control': IMMUTABLE,
    'accept-ranges': 'bytes',
    // Served from the API's origin, which is the admin's too.
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox"
  }
  if (image.fileName) headers['content-disposition'] = `inline; filename*=UTF-8''${encodeURIComponent(image.fileName)}`
  if (notModified(request.headers['if-none-match'], etag)) return reply.code(304).headers(headers).send()

  const ifRange = request.headers['if-range']
  const range = requestedRange(request.headers.range, typeof ifRange === 'string' ? ifRange : undefined, image.size, etag)
  if (range === 'unsatisfiable') {
    throw new HttpError(416, `The range is outside the image's ${image.size} bytes.`, { 'content-range': `bytes */${image.size}`, ...NOT_CACHED })
  }
  headers['content-type'] = image.contentType
  headers['content-length'] = String(range ? range.end - range.start + 1 : image.size)
  if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${image.size}`
  const status = range ? 206 : 200
  // HEAD: the headers say it all; storage is not read.
  if (request.method === 'HEAD') return reply.code(status).headers(headers).send()

  let bytes
  try {
    bytes = await storage.read(image.path, range)
  } catch (err) {
    if (err instanceof StorageRateLimitError) {
      const seconds = String(Math.max(1, Math.ceil(err.retryAfterMs / 1000)))
      throw Object.assign(new HttpError(503, 'The image store is busy. Please retry shortly.', { 'retry-after': seconds, ...NOT_CACHED }), { cause: err })
    }
    if (err instanceof StorageTransientError) throw Object.assign(unavailable('The image store is temporarily unavailable. Please retry shortly.'), { cause: err })
    throw err
  }
  if (!bytes) throw new HttpError(404, 'The stored file of this image is gone.', NOT_CACHED)
  return reply.code(status).headers(headers).send(bytes.body)
}
