import type { Queue } from 'bullmq'
import { unavailable } from '../errors.ts'
import { UPLOAD_JOB, uploadJobOptions, type UploadJobData, type UploadJobResult } from '../queue/upload-jobs.ts'
import { sanitizeFileName, stampedFileName } from './file-name.ts'
import type { ReceivedUpload } from './receive.ts'
import { removeStaged } from './staging.ts'

export type UploadQueue = Queue<UploadJobData, UploadJobResult>

/** The job payloads of an upload, one per file, in request order. */
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
    receivedAt: file.receivedAt.toISOString()
  }))
}

/**
 * Adds every job in one atomic call: either all files of the request are queued or none is, and
 * then the staged files are removed and the client is told to retry (503).
 */
export async function enqueueUpload (queue: UploadQueue, jobs: UploadJobData[], attempts: number): Promise<void> {
  try {
    await queue.addBulk(jobs.map(data => ({
      name: UPLOAD_JOB,
      data,
      opts: { ...uploadJobOptions(attempts), jobId: data.uploadId }
    })))
  } catch (err) {
    await removeStaged(jobs.map(j => j.stagedPath))
    throw Object.assign(unavailable('The upload service is temporarily unavailable. Please retry shortly.'), { cause: err })
  }
}
