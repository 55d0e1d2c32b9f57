import { createHash } from 'node:crypto'
import { badRequest } from './http-error.ts'

// An app that lost the answer to an upload retries it with the same Idempotency-Key and gets the
// first answer back. The key is the client's; the fingerprint says whether the retry is really
// the same request.

const PRINTABLE_ASCII = /^[\x20-\x7e]{1,255}$/

/** The request's key, if it sent one; a malformed one is refused before the body is read. */
export function idempotencyKeyOf (header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined
  if (Array.isArray(header) || !PRINTABLE_ASCII.test(header) || header.trim() === '') {
    throw badRequest('Idempotency-Key must be sent once, as 1 to 255 printable ASCII characters.')
  }
  return header
}

export interface FingerprintedFile {
  originalName: string
  contentHash: string
}

/** Same phone number, same files' names and contents, same order: the same request. */
export function requestFingerprint (phoneNumber: string, files: FingerprintedFile[]): string {
  const parts = [phoneNumber, ...files.flatMap(f => [f.originalName, f.contentHash])]
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex')
}
