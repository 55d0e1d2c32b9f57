import type { Static } from 'typebox'
import type { JobOutcome } from '../../queue/job-waiter.ts'
import type { FileResult } from '../schemas/upload.ts'

export type FileResultBody = Static<typeof FileResult>

/** One file's entry in upload and status responses. */
export function fileResult (uploadId: string, fileName: string, outcome: JobOutcome): FileResultBody {
  switch (outcome.status) {
    case 'completed': {
      const { fileName, message, imageUrl } = outcome.result
      return { filename: fileName, message, image_url: imageUrl, status: 'uploaded', upload_id: uploadId }
    }
    case 'failed':
      return { filename: fileName, message: `File '${fileName}' failed to upload`, image_url: null, status: 'failed', upload_id: uploadId, error: outcome.reason }
    case 'pending':
      return { filename: fileName, message: `File '${fileName}' is still being processed`, image_url: null, status: 'pending', upload_id: uploadId }
  }
}
