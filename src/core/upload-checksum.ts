import { badRequest } from './http-error.ts'

// tus's checksum extension: a PATCH may carry `Upload-Checksum: <algorithm> <base64 digest>` of
// its body; the server keeps the body only when it matches (460 otherwise, the offset unchanged).

/** What OPTIONS advertises in Tus-Checksum-Algorithm, by preference; tus requires sha1. */
export const CHECKSUM_ALGORITHMS = ['sha1', 'sha256', 'sha512', 'md5'] as const
export type ChecksumAlgorithm = typeof CHECKSUM_ALGORITHMS[number]

export interface ExpectedChecksum {
  algorithm: ChecksumAlgorithm
  /** The digest the client computed, decoded from base64. */
  digest: Buffer
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/** The request's checksum, if it sent one; an unsupported algorithm or a malformed value is a 400. */
export function parseUploadChecksum (header: string | string[] | undefined): ExpectedChecksum | undefined {
  if (header === undefined) return undefined
  const [algorithm, digest, ...rest] = (Array.isArray(header) ? '' : header).trim().split(/\s+/)
  if (!(CHECKSUM_ALGORITHMS as readonly string[]).includes(algorithm ?? '')) {
    throw badRequest(`Upload-Checksum must name one of ${CHECKSUM_ALGORITHMS.join(', ')}, then the base64 digest of the request body.`)
  }
  if (digest === undefined || rest.length > 0 || !BASE64.test(digest)) {
    throw badRequest('Upload-Checksum must be "<algorithm> <base64 digest>", e.g. "sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=".')
  }
  return { algorithm: algorithm as ChecksumAlgorithm, digest: Buffer.from(digest, 'base64') }
}
