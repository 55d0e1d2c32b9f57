import { createHash } from 'node:crypto'
import { Schema, Types, type Connection, type InferSchemaType } from 'mongoose'

/** One stored rendering: where it is and what it is. */
function variantFile () {
  return {
    type: new Schema({
      path: { type: String, required: true },
      content_type: { type: String, required: true },
      size: { type: Number, required: true, min: 0 },
      content_hash: { type: String, required: true },
      width: { type: Number, required: true },
      height: { type: Number, required: true }
    }, { _id: false }),
    required: false
  }
}

// The original service's Image model (phone_number, file_name, image_url, uploaded_at) plus what
// operating it needs. Field names keep the original's snake_case: they are the public contract.
const imageSchema = new Schema({
  phone_number: { type: String, required: true, maxlength: 15 },
  file_name: { type: String, required: true, maxlength: 255 },
  image_url: { type: String, required: true },
  uploaded_at: { type: Date, required: true, default: () => new Date() },
  original_name: { type: String },
  storage: { type: String, required: true, enum: ['dropbox', 'local'] },
  storage_path: { type: String, required: true },
  size: { type: Number, required: true, min: 0 },
  content_type: { type: String, required: true },
  /** Dropbox content_hash of the bytes (also computed for local storage). */
  content_hash: { type: String, required: true },
  /** Dropbox's id of the file ("id:..."), stable across renames and moves: how the Dropbox sync knows it. */
  dropbox_id: { type: String },
  /** 'dropbox-sync' for a record the sync made for a file put into Dropbox from outside; absent for uploads. */
  source: { type: String, enum: ['dropbox-sync'] },
  /**
   * The renderings a browser can show (core/image-variants.ts), written by the variant worker:
   * absent until it has run; 'ready' with both; 'failed' with the reason the image cannot be
   * rendered (the upload itself stands).
   */
  variants: {
    type: new Schema({
      status: { type: String, required: true, enum: ['ready', 'failed'] },
      reason: { type: String },
      display: variantFile(),
      thumbnail: variantFile(),
      made_at: { type: Date, required: true }
    }, { _id: false }),
    required: false
  }
}, {
  collection: 'images',
  versionKey: false
})

// Only index kinds FerretDB 1.24 supports as well as MongoDB: plain and unique.
imageSchema.index({ phone_number: 1, uploaded_at: -1 })
// The admin list sorts by any of its columns with _id as the tiebreak and pages by seeking from
// the last row (keyset pagination): each sort needs its (column, _id) index to stay fast.
imageSchema.index({ uploaded_at: -1, _id: -1 })
imageSchema.index({ phone_number: 1, _id: 1 })
imageSchema.index({ file_name: 1, _id: 1 })
imageSchema.index({ image_url: 1, _id: 1 })
// The Dropbox sync finds the records of the files Dropbox lists by their id.
imageSchema.index({ dropbox_id: 1 })

const bind = (connection: Connection) => connection.model('Image', imageSchema)

export type ImageRecord = InferSchemaType<typeof imageSchema>
export type ImageModel = ReturnType<typeof bind>

/** The model bound to a given connection (the API and each worker own one). */
export function imageModel (connection: Connection): ImageModel {
  return (connection.models.Image as ImageModel | undefined) ?? bind(connection)
}

/** The record of an upload: its _id is the upload id (core/upload-id.ts). */
export function recordId (uploadId: string): Types.ObjectId {
  return new Types.ObjectId(uploadId)
}

/**
 * The _id of the record the Dropbox sync makes for a file it found: derived from the file's
 * Dropbox id, so a sync run again cannot make a second one, and a worker that records the same
 * file under its upload id finds the sync's record by _id (the one lookup FerretDB makes fast)
 * and removes it.
 */
export function syncRecordId (dropboxId: string): Types.ObjectId {
  return new Types.ObjectId(createHash('sha256').update(`dropbox-sync:${dropboxId}`).digest('hex').slice(0, 24))
}
