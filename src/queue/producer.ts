import type { Queue } from 'bullmq'
import { unavailable } from '../core/http-error.ts'
import { UPLOAD_JOB, uploadJobOptions, type UploadJobData, type UploadJobResult } from './upload-jobs.ts'

export type UploadQueue = Queue<UploadJobData, UploadJobResult>

/**
 * Adds every job in one atomic call: either all files of the request are queued or none is, and
 * the client is told to retry (503). The caller owns the staged files and removes them then.
 */
export async function enqueueUploads (queue: UploadQueue, jobs: UploadJobData[], attempts: number): Promise<void> {
  try {
    await queue.addBulk(jobs.map(data => ({
      name: UPLOAD_JOB,
      data,
      opts: { ...uploadJobOptions(attempts), jobId: data.uploadId }
    })))
  } catch (err) {
    throw Object.assign(unavailable('The upload service is temporarily unavailable. Please retry shortly.'), { cause: err })
  }
}
