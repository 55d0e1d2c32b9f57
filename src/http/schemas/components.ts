import { ErrorBody, type Component } from './common.ts'
import { PhoneImage, PhoneImages } from './get-phone.ts'
import { ImageUrls } from './images.ts'
import { UploadStatus } from './upload-status.ts'
import { FailedUploadResult, PendingUploadResult, UploadAccepted, UploadFailed, UploadResponse, UploadResult } from './upload.ts'

/** Every named schema the routes refer to (see common.ts): plugins/swagger.ts registers them. */
export const COMPONENT_SCHEMAS: Component[] = [
  ErrorBody,
  ImageUrls,
  UploadResult,
  PendingUploadResult,
  FailedUploadResult,
  UploadResponse,
  UploadAccepted,
  UploadFailed,
  PhoneImage,
  PhoneImages,
  UploadStatus
]
