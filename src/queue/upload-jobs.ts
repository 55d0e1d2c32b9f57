// The contract between the API (producer) and the workers: queue name, job payload and result.
// Payloads carry ids and paths, never secrets or bytes.
import type { JobsOptions } from 'bullmq'
import type { StoredFile } from '../core/stored-file.ts'

export const UPLOAD_QUEUE = 'uploads'
export const UPLOAD_JOB = 'upload'

export interface UploadJobData {
  /** Also the job id, the staged file's name and the Image record's _id (see upload-id.ts). */
  uploadId: string
  phoneNumber: string
  /** The contract's `YYYY-MM-DD_HH:MM:SS_<name>`; storage may add " (n)" on a clash. */
  fileName: string
  originalName: string
  stagedPath: string
  size: number
  contentType: string
  contentHash: string
  receivedAt: string
  /** The request that sent the file (its X-Request-Id), for the worker's log lines; absent in jobs queued before it existed. */
  requestId?: string
  /**
   * The API process that queued the job (its instance id, random at its start): the worker
   * publishes the outcome on that process's channel only (resultsChannel). Absent in jobs queued
   * before it existed; their waits are settled by the API's re-read sweep.
   */
  apiInstance?: string
  /** Set by the worker once storage holds the file, so a retry finds it where it went. */
  stored?: StoredFile
}

export interface UploadJobResult {
  fileName: string
  imageUrl: string
  message: string
  storagePath: string
  size: number
}

/**
 * BullMQ's event stream of the queue is read by nobody in the service (outcomes travel on
 * resultsChannel); capped so that it stays small. Set on every Queue of the upload queue: BullMQ
 * keeps it in the queue's meta key, where the workers' scripts read it.
 */
export const UPLOAD_EVENTS_MAX_LEN = 1000

/** Where the workers publish the outcomes of the jobs an API process queued. */
export function resultsChannel (prefix: string, apiInstance: string): string {
  return `${prefix}:results:${apiInstance}`
}

/** What is published on resultsChannel once a job completed or failed for good. */
export type PublishedOutcome =
  | { jobId: string, status: 'completed', result: UploadJobResult }
  | { jobId: string, status: 'failed', reason: string }

/** How long finished jobs stay readable; must outlive the longest wait of the upload endpoint. */
export const COMPLETED_RETENTION_SECONDS = 24 * 3600
export const FAILED_RETENTION_SECONDS = 14 * 24 * 3600

export function uploadJobOptions (attempts: number): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
    removeOnComplete: { age: COMPLETED_RETENTION_SECONDS },
    removeOnFail: { age: FAILED_RETENTION_SECONDS }
  }
}

/**
 * Written beside the staged bytes before the job is queued (staging/manifest.ts): what it takes
 * to queue the job again if Redis loses it.
 */
export interface UploadManifest {
  job: UploadJobData
  idempotencyKey?: string
  acceptedAt: string
}

export function isUploadManifest (value: unknown, uploadId: string): value is UploadManifest {
  const job = (value as { job?: Partial<UploadJobData> } | undefined)?.job
  return typeof job === 'object' && job !== null && job.uploadId === uploadId &&
    typeof job.stagedPath === 'string' && typeof job.phoneNumber === 'string' && typeof job.fileName === 'string'
}
