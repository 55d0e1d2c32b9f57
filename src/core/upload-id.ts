import { randomBytes } from 'node:crypto'

/**
 * One id names a file's whole journey: the staged file, the BullMQ job and the Image record's
 * _id. It has an ObjectId's shape because MongoDB-protocol servers look a document up fastest
 * by _id (FerretDB only by _id), so the worker's idempotent write and the status lookup stay
 * cheap however many records there are. Its 12 bytes are random, not a generated ObjectId's
 * timestamp and counter: the status endpoint answers anyone who knows an id, so ids must not be
 * guessable from one's own.
 */
export function newUploadId (): string {
  let id: string
  // BullMQ refuses custom job ids made only of digits; about one random id in 80,000 would be.
  do id = randomBytes(12).toString('hex')
  while (/^\d+$/.test(id))
  return id
}

export const UPLOAD_ID_PATTERN = '^[0-9a-f]{24}$'
const UPLOAD_ID = new RegExp(UPLOAD_ID_PATTERN)

export function isUploadId (id: string): boolean {
  return UPLOAD_ID.test(id)
}
