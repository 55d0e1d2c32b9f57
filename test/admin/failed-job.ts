import type { Queue } from 'bullmq'
import { UPLOAD_JOB, type UploadJobData } from '../../src/queue/upload-jobs.ts'
import { waitFor } from '../../scripts/lib/wait-for.ts'

/**
 * Queues an upload whose staged file does not exist: a running worker fails it for good
 * (UnrecoverableError, no retries), with the reason the dashboard shows.
 */
export async function failedUpload (queue: Queue, uploadId = 'missing-staged-file'): Promise<UploadJobData> {
  const data: UploadJobData = {
    uploadId,
    phoneNumber: '1234567890',
    fileName: '2024-12-17_12:30:45_lost.jpg',
    originalName: 'lost.jpg',
    stagedPath: `/nonexistent/staging/${uploadId}`,
    size: 10,
    contentType: 'image/jpeg',
    contentHash: 'h',
    receivedAt: new Date().toISOString()
  }
  await queue.add(UPLOAD_JOB, data, { jobId: uploadId, attempts: 3 })
  await waitFor(async () => await queue.getJobState(uploadId) === 'failed', { what: `job ${uploadId} to fail` })
  return data
}
