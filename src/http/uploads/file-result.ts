import type { Static } from 'typebox'
import { imageUrls } from '../../core/image-variants.ts'
import type { JobOutcome } from '../../queue/job-waiter.ts'
import type { FileResult } from '../schemas/upload.ts'

export type FileResultBody = Static<typeof FileResult>

/**
 * One file's entry in upload and status responses. A stored file's also carries `urls`, its
 * stable URLs on PUBLIC_BASE_URL (`publicBaseUrl`), beside the contract's `image_url`.
 */
export function fileResult (uploadId: string, fileName: string, outcome: JobOutcome, publicBaseUrl: string): FileResultBody {
  switch (outcome.status) {
    case 'completed': {
      const { fileName, message, imageUrl } = outcome.result
      return { filename: fileName, message, image_url: imageUrl, status: 'uploaded', upload_id: uploadId, urls: imageUrls(publicBaseUrl, uploadId) }
    }
    case 'failed':
      return { filename: fileName, message: `File '${fileName}' failed to upload`, image_url: null, status: 'failed', upload_id: uploadId, error: outcome.reason }
    case 'pending':
      return { filename: fileName, message: `File '${fileName}' is still being processed`, image_url: null, status: 'pending', upload_id: uploadId }
  }
}
