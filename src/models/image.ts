import { Schema, Types, type Connection, type InferSchemaType } from 'mongoose'

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
  content_hash: { type: String, required: true }
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
