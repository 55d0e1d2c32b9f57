import { Type } from 'typebox'
import { UPLOAD_ID_PATTERN } from '../../core/upload-id.ts'
import { component, errorResponse, unavailableResponse } from './common.ts'

// The service's own image URLs (GET /i/{upload_id}[/display|/thumbnail]) and the `urls` object
// that names them in the API's answers.

const EXAMPLE_ID = '6761a2f5c3b1e24d8f0a9b7c'
const EXAMPLE_BASE = `https://images.example.com/i/${EXAMPLE_ID}`

export const ImageUrls = component('ImageUrls', Type.Object({
  original: Type.String({ description: 'The stored file, byte for byte.' }),
  display: Type.String({ description: 'A rendering any browser shows: JPEG (WebP when transparent), at most 2048 px on its long side, upright, sRGB.' }),
  thumbnail: Type.String({ description: 'A WebP of at most 320 px on its long side.' })
}, {
  description: 'Stable URLs of the image on this service (PUBLIC_BASE_URL), public and cacheable for good; they never depend on a Dropbox shared link. A rendering answers 503 with `Retry-After` until it is made, and 404 with the reason when the image cannot be rendered.',
  examples: [{ original: EXAMPLE_BASE, display: `${EXAMPLE_BASE}/display`, thumbnail: `${EXAMPLE_BASE}/thumbnail` }]
}))

export const exampleUrls = (uploadId: string) => {
  const base = `https://images.example.com/i/${uploadId}`
  return { original: base, display: `${base}/display`, thumbnail: `${base}/thumbnail` }
}

const uploadId = Type.String({ pattern: UPLOAD_ID_PATTERN, description: 'The image\'s upload_id.' })
export const ImageParams = Type.Object({ upload_id: uploadId })
export const VariantParams = Type.Object({
  upload_id: uploadId,
  variant: Type.Union([Type.Literal('display'), Type.Literal('thumbnail')], { description: 'Which rendering.' })
})

const headers = {
  ETag: Type.String({ description: 'The bytes\' content hash (Dropbox\'s content_hash), quoted: send it in If-None-Match.', examples: ['"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"'] }),
  'Cache-Control': Type.String({ description: 'The bytes under this URL never change.', examples: ['public, max-age=31536000, immutable'] }),
  'Accept-Ranges': Type.String({ description: 'One byte range may be asked for.', examples: ['bytes'] })
}
const binary = { schema: Type.String({ format: 'binary' }) }

export function imageResponses (what: string, contentTypes: string[]) {
  const content = Object.fromEntries(contentTypes.map(type => [type, binary]))
  return {
    200: { description: `${what}, streamed from storage.`, headers, content },
    206: {
      description: `The byte range the Range header asked for, of ${what.toLowerCase()}.`,
      headers: { ...headers, 'Content-Range': Type.String({ description: 'Which bytes, of how many.', examples: ['bytes 0-1023/482133'] }) },
      content
    },
    304: { description: 'If-None-Match named this ETag: the client\'s copy is current.', headers, type: 'null' },
    400: errorResponse('upload_id is not an upload id.', `Invalid request: params/upload_id must match pattern "${UPLOAD_ID_PATTERN}".`),
    404: errorResponse('No image with this id (never stored, or deleted).', 'Image not found.'),
    416: errorResponse('The Range starts past the end of the bytes (Content-Range says how many there are).', 'The range is outside the image\'s 482133 bytes.')
  }
}

export const variantResponses = {
  ...imageResponses('The rendering', ['image/jpeg', 'image/webp']),
  404: errorResponse('No image with this id, or the image cannot be rendered (the message says why; the upload itself stands).', 'This image has no display rendering: the image data is damaged or unreadable (VipsJpeg: Premature end of input file).'),
  503: unavailableResponse('The rendering is being made (it usually is within seconds of the upload), or the image store is unreachable: retry after `Retry-After` seconds, or show the original meanwhile.', 'The display rendering of this image is being made. Retry in a few seconds.')
}
