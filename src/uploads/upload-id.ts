import { Types } from 'mongoose'

/**
 * One id names a file's whole journey: the staged file, the BullMQ job and the Image record's
 * _id. An ObjectId (time-ordered, unique without coordination) because MongoDB-protocol
 * servers look a document up fastest by _id — FerretDB only by _id — so the worker's
 * idempotent write and the status lookup stay cheap however many records there are.
 */
export function newUploadId (): string {
  let id: string
  // BullMQ refuses custom job ids made only of digits; one hex id in ~80,000 would be.
  do id = new Types.ObjectId().toHexString()
  while (/^\d+$/.test(id))
  return id
}

export const UPLOAD_ID_PATTERN = '^[0-9a-f]{24}$'

export function recordId (uploadId: string): Types.ObjectId {
  return new Types.ObjectId(uploadId)
}
