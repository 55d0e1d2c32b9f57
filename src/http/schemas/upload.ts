import { Type } from 'typebox'
import { errorResponse } from './common.ts'
import { PHONE_NUMBER_RULE } from '../../core/phone-number.ts'

export const FileResult = Type.Object({
  filename: Type.String({ description: 'Stored name: `YYYY-MM-DD_HH:MM:SS_<original name>` (UTC).' }),
  message: Type.String(),
  image_url: Type.Union([Type.String(), Type.Null()], { description: 'Raw URL, directly embeddable; null until the file is stored.' }),
  status: Type.Union([Type.Literal('uploaded'), Type.Literal('failed'), Type.Literal('pending')]),
  upload_id: Type.String({ description: 'Identifies this file\'s upload; see GET /api/uploads/{upload_id}.' }),
  error: Type.Optional(Type.String({ description: 'Why this file failed.' }))
})

const sample = {
  filename: '2024-12-17_12:30:45_image1.jpg',
  message: "File '2024-12-17_12:30:45_image1.jpg' uploaded successfully to Dropbox",
  image_url: 'https://www.dropbox.com/scl/fi/abcdefg/2024-12-17_12:30:45_image1.jpg?rlkey=k1&raw=1',
  status: 'uploaded',
  upload_id: '6761a2f5c3b1e24d8f0a9b7c'
}

export const UploadSuccess = Type.Object({
  phone_number: Type.String(),
  results: Type.Array(FileResult)
}, {
  description: 'Every image was stored. One result per file, in request order.',
  examples: [{ phone_number: '1234567890', results: [sample] }]
})

export const UploadAccepted = Type.Object({
  message: Type.String(),
  phone_number: Type.String(),
  results: Type.Array(FileResult)
}, {
  description: 'Accepted, but some images were still processing when the wait ended. Nothing is lost: poll each `upload_id`.',
  examples: [{
    message: 'Upload accepted; some images are still being processed.',
    phone_number: '1234567890',
    results: [{ ...sample, status: 'pending', message: 'Still processing', image_url: null }]
  }]
})

export const UploadFailure = Type.Object({
  message: Type.String(),
  phone_number: Type.Optional(Type.String()),
  results: Type.Optional(Type.Array(FileResult))
}, {
  description: 'At least one image failed for good; `results` says which, and why. (An unexpected error answers `message` alone.)',
  examples: [{
    message: 'Failed to upload all images.',
    phone_number: '1234567890',
    results: [sample, { ...sample, filename: '2024-12-17_12:30:45_image2.jpg', status: 'failed', message: "File '2024-12-17_12:30:45_image2.jpg' failed to upload", image_url: null, error: 'Dropbox refused the file: path/disallowed_name' }]
  }]
})

export const uploadResponses = {
  200: UploadSuccess,
  202: UploadAccepted,
  400: errorResponse(`Missing phone_number or images (a body that is not multipart/form-data has none), an invalid phone number (${PHONE_NUMBER_RULE}), an empty file or a malformed body.`, 'Phone number and images are required.'),
  413: errorResponse('A file is larger than the limit, or there are more files than allowed.', 'Too many images: at most 10 per request.'),
  415: errorResponse('A file\'s bytes are not an image, whatever its name or declared type.', "File 'notes.txt' is not an image (JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC/HEIF or AVIF)."),
  500: UploadFailure,
  503: errorResponse('The upload queue is unreachable; nothing was stored. Retry after a few seconds.', 'The upload service is temporarily unavailable. Please retry shortly.')
}

export const MultipartBody = {
  type: 'object',
  required: ['phone_number', 'images'],
  properties: {
    phone_number: { type: 'string', description: PHONE_NUMBER_RULE, example: '1234567890' },
    images: { type: 'array', items: { type: 'string', format: 'binary' }, description: 'One or more image files (field `images` or `images[]`).' }
  }
}
