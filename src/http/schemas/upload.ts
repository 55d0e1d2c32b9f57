import { Type, type Static } from 'typebox'
import { component, errorResponse, jsonResponse, jsonResponseExamples, ref, unavailableResponse, type Component } from './common.ts'
import { PHONE_NUMBER_RULE } from '../../core/phone-number.ts'
import { exampleUrls, ImageUrls } from './images.ts'

const filename = Type.String({ description: 'Stored name: `YYYY-MM-DD_HH:MM:SS_<original name>` (UTC).' })
const uploadId = Type.String({ description: 'Identifies this file\'s upload; see GET /api/uploads/{upload_id}.' })

const stored = {
  filename: '2024-12-17_12:30:45_image1.jpg',
  message: "File '2024-12-17_12:30:45_image1.jpg' uploaded successfully to Dropbox",
  image_url: 'https://www.dropbox.com/scl/fi/abcdefg/2024-12-17_12%3A30%3A45_image1.jpg?rlkey=k1&st=t1&raw=1',
  status: 'uploaded' as const,
  upload_id: '6761a2f5c3b1e24d8f0a9b7c',
  urls: exampleUrls('6761a2f5c3b1e24d8f0a9b7c')
}
const pending = {
  filename: '2024-12-17_12:30:45_image2.jpg',
  message: "File '2024-12-17_12:30:45_image2.jpg' is still being processed",
  image_url: null,
  status: 'pending' as const,
  upload_id: '6761a2f5c3b1e24d8f0a9b7d'
}
const failed = {
  filename: '2024-12-17_12:30:45_image3.jpg',
  message: "File '2024-12-17_12:30:45_image3.jpg' failed to upload",
  image_url: null,
  status: 'failed' as const,
  upload_id: '6761a2f5c3b1e24d8f0a9b7e',
  error: 'Dropbox refused the file: path/disallowed_name'
}

// One file's entry in the upload and status responses, by where it stands. The fields keep the
// order in which they are sent.

export const UploadResult = component('UploadResult', Type.Object({
  filename,
  message: Type.String({ description: 'What happened to the file, for a person to read.' }),
  image_url: Type.String({ description: 'Raw URL of the stored file, directly embeddable.' }),
  status: Type.Literal('uploaded'),
  upload_id: uploadId,
  urls: ref(ImageUrls)
}, { description: 'A file that is stored.', examples: [stored] }))

export const PendingUploadResult = component('PendingUploadResult', Type.Object({
  filename,
  message: Type.String({ description: 'Says the file is still being processed.' }),
  image_url: Type.Null({ description: 'null until the file is stored.' }),
  status: Type.Literal('pending'),
  upload_id: uploadId
}, { description: 'A file still being processed: follow it with GET /api/uploads/{upload_id}.', examples: [pending] }))

export const FailedUploadResult = component('FailedUploadResult', Type.Object({
  filename,
  message: Type.String({ description: 'Says the file failed to upload.' }),
  image_url: Type.Null({ description: 'A failed file has no URL.' }),
  status: Type.Literal('failed'),
  upload_id: uploadId,
  error: Type.String({ description: 'Why this file failed.' })
}, { description: 'A file that failed for good; the other files of the request are not affected.', examples: [failed] }))

/** Any file's entry (what uploads/file-result.ts builds). */
export const FileResult = Type.Union([ref(UploadResult), ref(PendingUploadResult), ref(FailedUploadResult)])

export const UploadResponse = component('UploadResponse', Type.Object({
  phone_number: Type.String({ description: 'The phone number, canonical (digits only).' }),
  results: Type.Array(ref(UploadResult), { description: 'One result per file, in request order.' })
}, { description: 'Every image was stored.' }))

export const UploadAccepted = component('UploadAccepted', Type.Object({
  message: Type.String(),
  phone_number: Type.String({ description: 'The phone number, canonical (digits only).' }),
  results: Type.Array(Type.Union([ref(UploadResult), ref(PendingUploadResult)]), { description: 'One result per file, in request order.' })
}, { description: 'Some images were still being processed when the wait ended; none failed.' }))

export const UploadFailed = component('UploadFailed', Type.Object({
  message: Type.String(),
  phone_number: Type.Optional(Type.String({ description: 'The phone number, canonical (digits only).' })),
  results: Type.Optional(Type.Array(FileResult, { description: 'One result per file, in request order.' }))
}, { description: 'At least one image failed for good (`results` says which and why), or an unexpected error (`message` alone).' }))

/**
 * The handler picks the status from the results (any failed: 500, else any pending: 202, else
 * 200), which TypeScript cannot follow into the array's type: the 200 and 202 bodies are typed
 * as holding any file result, while their schemas, hence the serializer and the document, say
 * exactly which.
 */
const anyResultTyped = <T extends Component>(schema: T) =>
  Type.Unsafe<Omit<Static<T>, 'results'> & { results: Array<Static<typeof FileResult>> }>(Type.Ref(schema.$id))

export const uploadResponses = {
  200: jsonResponse('Every image was stored. One result per file, in request order.', anyResultTyped(UploadResponse), {
    phone_number: '1234567890',
    results: [stored]
  }),
  202: jsonResponse('Accepted, but some images were still processing when the wait ended. Nothing is lost: poll each pending `upload_id`.', anyResultTyped(UploadAccepted), {
    message: 'Upload accepted; some images are still being processed.',
    phone_number: '1234567890',
    results: [stored, pending]
  }),
  400: errorResponse(`Missing phone_number or images (a body that is not multipart/form-data has none), an invalid phone number (${PHONE_NUMBER_RULE}), an empty file, a malformed body or a malformed Idempotency-Key.`, 'Phone number and images are required.'),
  413: errorResponse('A file is larger than the limit, or there are more files than allowed.', 'Too many images: at most 10 per request.'),
  415: errorResponse('A file\'s bytes are not an image, whatever its name or declared type.', "File 'notes.txt' is not an image (JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC/HEIF or AVIF)."),
  422: errorResponse('The Idempotency-Key was already used for a different upload (another phone number, other files or another order); or a file\'s metadata could not be checked for location data, or a location in it could not be removed (the message names the file; nothing was kept).', 'This Idempotency-Key was already used for a different upload (another phone number, other files, or another order). Send a new key for a new upload.'),
  500: jsonResponseExamples('At least one image failed for good; `results` says which, and why (the others are stored). An unexpected error answers `message` alone.', ref(UploadFailed), {
    failed: {
      summary: 'A file failed',
      value: { message: 'Failed to upload all images.', phone_number: '1234567890', results: [stored, failed] }
    },
    unexpected: {
      summary: 'An unexpected error',
      value: { message: 'Internal server error.' }
    }
  }),
  503: unavailableResponse('The upload queue is unreachable; nothing was stored. Retry after `Retry-After` seconds.', 'The upload service is temporarily unavailable. Please retry shortly.')
}

export const MultipartBody = {
  type: 'object',
  required: ['phone_number', 'images'],
  properties: {
    phone_number: { type: 'string', description: PHONE_NUMBER_RULE, example: '1234567890' },
    images: { type: 'array', items: { type: 'string', format: 'binary' }, description: 'One or more image files (field `images` or `images[]`).' }
  }
}
