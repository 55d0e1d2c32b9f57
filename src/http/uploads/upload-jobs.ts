import { sanitizeFileName, stampedFileName } from '../../core/file-name.ts'
import type { UploadJobData } from '../../queue/upload-jobs.ts'
import type { ReceivedUpload } from './receive-multipart.ts'

/** The job payloads of a received upload, one per file, in request order. */
export function uploadJobs (upload: ReceivedUpload): UploadJobData[] {
  return upload.files.map(file => ({
    uploadId: file.uploadId,
    phoneNumber: upload.phoneNumber,
    fileName: stampedFileName(file.receivedAt, sanitizeFileName(file.originalName, file.type)),
    originalName: file.originalName,
    stagedPath: file.path,
    size: file.size,
    contentType: file.type.mime,
    contentHash: file.contentHash,
    receivedAt: file.receivedAt.toISOString(),
    ...(upload.requestId === undefined ? {} : { requestId: upload.requestId })
  }))
}
