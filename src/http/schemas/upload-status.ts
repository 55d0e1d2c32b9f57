import { Type } from 'typebox'
import { errorResponse } from './common.ts'
import { FileResult } from './upload.ts'
import { UPLOAD_ID_PATTERN } from '../../core/upload-id.ts'

export const UploadStatusParams = Type.Object({
  upload_id: Type.String({ pattern: UPLOAD_ID_PATTERN, description: 'The upload_id of one file, from POST /api/upload/.' })
})

export const uploadStatusResponses = {
  200: Type.Object({ phone_number: Type.String(), ...FileResult.properties }, {
    description: 'Where one file stands: uploaded (with its URL), pending, or failed (with the reason).'
  }),
  400: errorResponse('upload_id is not an upload id.', `Invalid request: params/upload_id must match pattern "${UPLOAD_ID_PATTERN}".`),
  404: errorResponse('No upload with this id (or it finished more than 14 days ago and was not stored).', 'Upload not found.'),
  503: errorResponse('The queue or database is unreachable.', 'The service is temporarily unavailable. Please retry shortly.')
}
