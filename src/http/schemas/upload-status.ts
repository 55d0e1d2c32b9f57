import { Type } from 'typebox'
import { component, errorResponse, jsonResponseExamples, ref, unavailableResponse } from './common.ts'
import { exampleUrls } from './images.ts'
import { FailedUploadResult, PendingUploadResult, UploadResult } from './upload.ts'
import { UPLOAD_ID_PATTERN } from '../../core/upload-id.ts'

export const UploadStatusParams = Type.Object({
  upload_id: Type.String({ pattern: UPLOAD_ID_PATTERN, description: 'The upload_id of one file, from POST /api/upload/.' })
})

const phoneNumber = Type.String({ description: 'The phone number the file was uploaded for.' })

// A file's entry of the upload response, with its phone number first.
export const UploadStatus = component('UploadStatus', Type.Union([
  Type.Object({ phone_number: phoneNumber, ...UploadResult.properties }, { description: 'A file that is stored.' }),
  Type.Object({ phone_number: phoneNumber, ...PendingUploadResult.properties }, { description: 'A file still being processed.' }),
  Type.Object({ phone_number: phoneNumber, ...FailedUploadResult.properties }, { description: 'A file that failed for good.' })
], { description: 'Where one file stands: uploaded (with its URL), pending, or failed (with the reason).' }))

const example = { phone_number: '1234567890', filename: '2024-12-17_12:30:45_image1.jpg', upload_id: '6761a2f5c3b1e24d8f0a9b7c' }

export const uploadStatusResponses = {
  200: jsonResponseExamples('Where the file stands: uploaded (with its URL), pending, or failed (with the reason).', ref(UploadStatus), {
    uploaded: {
      summary: 'Stored',
      value: { ...example, message: "File '2024-12-17_12:30:45_image1.jpg' uploaded successfully to Dropbox", image_url: 'https://www.dropbox.com/scl/fi/abcdefg/2024-12-17_12%3A30%3A45_image1.jpg?rlkey=k1&st=t1&raw=1', status: 'uploaded', urls: exampleUrls(example.upload_id) }
    },
    pending: {
      summary: 'Still being processed',
      value: { ...example, message: "File '2024-12-17_12:30:45_image1.jpg' is still being processed", image_url: null, status: 'pending' }
    },
    failed: {
      summary: 'Failed for good',
      value: { ...example, message: "File '2024-12-17_12:30:45_image1.jpg' failed to upload", image_url: null, status: 'failed', error: 'Dropbox refused the file: path/disallowed_name' }
    }
  }),
  400: errorResponse('upload_id is not an upload id.', `Invalid request: params/upload_id must match pattern "${UPLOAD_ID_PATTERN}".`),
  404: errorResponse('No upload with this id (or it finished more than 14 days ago and was not stored).', 'Upload not found.'),
  503: unavailableResponse('The queue or database is unreachable. Retry after `Retry-After` seconds.')
}
