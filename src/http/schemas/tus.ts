import { Type, type TSchema } from 'typebox'
import { PHONE_NUMBER_RULE } from '../../core/phone-number.ts'
import { CHECKSUM_ALGORITHMS } from '../../core/upload-checksum.ts'
import { errorResponse, unavailableResponse } from './common.ts'
import { uploadResponses } from './upload.ts'

// The tus 1.0 routes (POST /api/tus/, then HEAD, PATCH and DELETE on the upload's URL). tus
// speaks in headers: they are documented here, and accepted as any string (@tus/server checks
// them and answers as the protocol says, e.g. 412 without Tus-Resumable).

const header = (description: string, example?: string | number): TSchema =>
  example === undefined ? Type.String({ description }) : Type.String({ description, examples: [String(example)] })

const tusResumable = header('The protocol version, `1.0.0`: required on every request but OPTIONS (412 without it).', '1.0.0')
const uploadOffset = header('Where this body starts: the upload\'s current offset, as HEAD reports it (409 otherwise).', 0)
const uploadChecksum = header(`Optional: \`<algorithm> <base64 digest>\` of this request's body (${CHECKSUM_ALGORITHMS.join(', ')}). A body that does not match is discarded with 460.`, 'sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=')
const contentType = header('`application/offset+octet-stream`.', 'application/offset+octet-stream')

export const TusUploadParams = Type.Object({
  upload_id: Type.String({ description: 'The upload id: the last segment of the Location that creation answered. It is also the `upload_id` of GET /api/uploads/{upload_id}.' })
})

export const tusCreationHeaders = Type.Partial(Type.Object({
  'Tus-Resumable': tusResumable,
  'Upload-Length': header('The file\'s size in bytes (413 above the limit; 0 is refused).', 2_480_113),
  'Upload-Metadata': header('Comma-separated `key base64(value)` pairs: `phone_number` (required; ' + PHONE_NUMBER_RULE + '), `filename` (required; reduced to a safe name as for POST /api/upload/), `filetype` (optional, never trusted: the bytes decide).',
    'phone_number MTIzNDU2Nzg5MA==,filename cGhvdG8uanBn,filetype aW1hZ2UvanBlZw=='),
  'Idempotency-Key': header('Makes a lost creation answer safe to retry: the same creation sent again with the same key (per phone number, or per API key) answers the same upload (same Location) instead of a second one. The same key with another file (phone number, name or length) is a 422.'),
  'Content-Type': header('`application/offset+octet-stream` when the body carries the first bytes (creation-with-upload); otherwise no body.', 'application/offset+octet-stream'),
  'Upload-Checksum': uploadChecksum
}))

export const tusPatchHeaders = Type.Partial(Type.Object({
  'Tus-Resumable': tusResumable,
  'Upload-Offset': uploadOffset,
  'Content-Type': contentType,
  'Upload-Checksum': uploadChecksum
}))

export const tusHeadHeaders = Type.Partial(Type.Object({ 'Tus-Resumable': tusResumable }))

const responseTusResumable = header('`1.0.0`.', '1.0.0')
const responseOffset = header('The upload\'s offset: how many bytes the service holds.', 1_048_576)
const uploadExpires = header('When this upload expires if it is not finished (RESUMABLE_UPLOAD_TTL after its creation), RFC 7231 date.', 'Wed, 25 Nov 2026 10:00:00 GMT')
const location = header('The upload\'s URL, for HEAD, PATCH and DELETE. Its last segment is the upload id.', 'https://api.example.com/api/tus/6761a2f5c3b1e24d8f0a9b7c')

/** A response without a body: its description and headers. */
const noBody = (description: string, headers: Record<string, TSchema>) => ({ type: 'null', description, headers })

const busy = errorResponse('Another request holds this upload (a previous PATCH still being written, across API processes); retry shortly.', 'This upload is busy with another request. Retry shortly (HEAD gives the offset to resume from).')
const notFound = errorResponse('No such upload: never created, refused (not an image), or expired and swept. Start a new upload.', 'No such upload: it was never created, was refused, or expired. Start a new upload.')
const gone = errorResponse('The upload expired (RESUMABLE_UPLOAD_TTL) before it was finished. Start a new upload.', 'This upload expired before it was finished. Start a new upload.')
const unavailable = unavailableResponse('Redis is unreachable. Retry after `Retry-After` seconds.')

// The answers of the request that completes an upload: those of a one-file POST /api/upload/.
const lastAnswers = {
  200: { ...uploadResponses[200], description: 'The last bytes landed and the image is stored: the JSON of a one-file POST /api/upload/ (Upload-Offset and Tus-Resumable headers as for any PATCH).' },
  202: { ...uploadResponses[202], description: 'The last bytes landed; the image is accepted but still being stored when the wait ended. Follow it with GET /api/uploads/{upload_id}.' },
  500: { ...uploadResponses[500], description: 'The last bytes landed but the image failed for good: `results[0].error` says why. tus clients retry a 5xx and then see the upload complete: check GET /api/uploads/{upload_id}.' }
}

export const tusOptionsResponses = {
  204: noBody('What the service supports: tus 1.0.0 with creation, creation-with-upload, termination, expiration and checksum.', {
    'Tus-Version': header('`1.0.0`.', '1.0.0'),
    'Tus-Extension': header('The supported extensions.', 'creation,creation-with-upload,termination,expiration,checksum'),
    'Tus-Max-Size': header('The largest upload accepted (UPLOAD_MAX_FILE_BYTES).', 52_428_800),
    'Tus-Checksum-Algorithm': header('Algorithms Upload-Checksum may use.', CHECKSUM_ALGORITHMS.join(','))
  }),
  400: errorResponse('A CORS preflight (Access-Control-Request-Method) sent without an Origin.', 'Invalid Preflight Request')
}

export const tusCreationResponses = {
  201: noBody('Created: PATCH the bytes to Location. With creation-with-upload, Upload-Offset says how much of the body was kept. A retry with the same Idempotency-Key answers the same upload.', {
    Location: location,
    'Tus-Resumable': responseTusResumable,
    'Upload-Offset': responseOffset,
    'Upload-Expires': uploadExpires
  }),
  ...lastAnswers,
  400: errorResponse(`Upload-Metadata without phone_number or filename, an invalid phone number (${PHONE_NUMBER_RULE}), Upload-Length missing or 0, a malformed header or Idempotency-Key.`, 'Upload-Metadata must carry phone_number and filename (each value base64-encoded).'),
  412: errorResponse('Tus-Resumable is missing or not 1.0.0.', 'Tus-Resumable Required'),
  413: errorResponse('Upload-Length is above the limit (UPLOAD_MAX_FILE_BYTES, also sent as Tus-Max-Size).', 'The file is larger than the limit of 50 MB.'),
  415: errorResponse('The whole file came with the creation and is not an image.', "File 'notes.txt' is not an image (JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC/HEIF or AVIF)."),
  422: errorResponse('The Idempotency-Key was already used for another file (phone number, name or length).', 'This Idempotency-Key was already used for a different upload (another phone number, file name or length). Send a new key for a new upload.'),
  503: unavailable
}

export const tusHeadResponses = {
  200: noBody('Where the upload stands: resume with a PATCH at Upload-Offset. Upload-Offset equal to Upload-Length: complete (and handed to the pipeline: GET /api/uploads/{upload_id}).', {
    'Tus-Resumable': responseTusResumable,
    'Upload-Offset': responseOffset,
    'Upload-Length': header('The file\'s size.', 2_480_113),
    'Upload-Metadata': header('The metadata given at creation (phone number canonical).', 'phone_number MTIzNDU2Nzg5MA==,filename cGhvdG8uanBn'),
    'Cache-Control': header('`no-store`.', 'no-store')
  }),
  // A HEAD answer has no body: the status says it all.
  404: noBody('No such upload: never created, refused (not an image), or expired and swept. Start a new upload.', { 'Tus-Resumable': responseTusResumable }),
  410: noBody('The upload expired (RESUMABLE_UPLOAD_TTL) before it was finished. Start a new upload.', { 'Tus-Resumable': responseTusResumable }),
  423: noBody('Another request holds this upload; retry shortly.', { 'Tus-Resumable': responseTusResumable })
}

export const tusPatchResponses = {
  204: noBody('The bytes are kept; the upload is not complete yet.', {
    'Tus-Resumable': responseTusResumable,
    'Upload-Offset': responseOffset,
    'Upload-Expires': uploadExpires
  }),
  ...lastAnswers,
  400: errorResponse('A malformed header (Upload-Offset, Upload-Checksum with an unsupported algorithm...).', 'Upload-Checksum must name one of sha1, sha256, sha512, md5, then the base64 digest of the request body.'),
  403: errorResponse('Upload-Offset or Content-Type is missing.', 'Upload-Offset header required'),
  404: notFound,
  409: errorResponse('Upload-Offset is not the upload\'s offset (HEAD it and resume from there).', 'Upload-Offset is not where this upload stands: HEAD it for its offset and resume from there.'),
  410: gone,
  412: errorResponse('Tus-Resumable is missing or not 1.0.0.', 'Tus-Resumable Required'),
  413: errorResponse('The body goes past Upload-Length.', 'The body goes past Upload-Length: send only the bytes from Upload-Offset to the end of the file.'),
  415: errorResponse('The last bytes landed and the file is not an image: it is removed, nothing is queued.', "File 'notes.txt' is not an image (JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC/HEIF or AVIF)."),
  423: busy,
  460: errorResponse('The body does not match Upload-Checksum: it was discarded (the offset is unchanged). Send it again.', 'Checksum mismatch: the request body does not match its Upload-Checksum and was discarded. Send it again.'),
  503: unavailable
}

export const tusDeleteResponses = {
  204: noBody('Terminated: the bytes and the state are removed.', { 'Tus-Resumable': responseTusResumable }),
  400: errorResponse('The upload is complete: it was handed on and is no longer the client\'s to terminate.', 'This upload is complete and was accepted; it can no longer be terminated.'),
  404: notFound,
  423: busy
}

/** The OpenAPI description of the bytes of a PATCH (or of a creation-with-upload). */
export const TusBody = {
  type: 'string',
  format: 'binary',
  description: 'The file\'s bytes from Upload-Offset on: all of them, or a chunk. A request cut off keeps what arrived.'
}
