import { Type } from 'typebox'
import { errorResponse } from './common.ts'
import { FileResult } from './upload.ts'

export const UploadStatusParams = Type.Object({
  upload_id: Type.String({ pattern: '^[0-9a-f-]{36}$', description: 'The upload_id of one file, from POST /api/upload/.' })
})

export const uploadStatusResponses = {
  200: Type.Object({ phone_number: Type.String(), ...FileResult.properties }, {
    description: 'Where one file stands: uploaded (with its URL), pending, or failed (with the reason).'
  }),
  400: errorResponse('upload_id is not an upload id.', 'params/upload_id must match pattern "^[0-9a-f-]{36}$"'),
  404: errorResponse('No upload with this id (or it finished more than 14 days ago and was not stored).', 'Upload not found.'),
  503: errorResponse('The queue or database is unreachable.', 'The service is temporarily unavailable. Please retry shortly.')
}
