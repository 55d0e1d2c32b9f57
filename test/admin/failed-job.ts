import { setTimeout as sleep } from 'node:timers/promises'
import type { Queue } from 'bullmq'
import { UPLOAD_JOB, type UploadJobData } from '../../src/queue/upload-jobs.ts'

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
  for (let i = 0; i < 200; i++) {
    if (await queue.getJobState(uploadId) === 'failed') return data
    await sleep(50)
  }
  throw new Error(`job ${uploadId} did not fail`)
}
