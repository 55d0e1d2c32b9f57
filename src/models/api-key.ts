import { Schema, type Connection, type InferSchemaType } from 'mongoose'

// Client apps' API keys (src/core/api-key.ts). Created with `npm run create-api-key`, listed and
// revoked in the admin panel. The key itself is never stored, only its SHA-256.
const apiKeySchema = new Schema({
  /** Lower case, unique for good: a revoked key keeps its name, so logs and the list stay unambiguous. */
  name: { type: String, required: true, maxlength: 64 },
  key_hash: { type: String, required: true },
  created_at: { type: Date, required: true, default: () => new Date() },
  /** Written at most once a minute per key (plugins/api-key-store.ts), not on every request. */
  last_used_at: { type: Date },
  revoked_at: { type: Date }
}, {
  collection: 'api_keys',
  versionKey: false
})

apiKeySchema.index({ name: 1 }, { unique: true })
apiKeySchema.index({ key_hash: 1 }, { unique: true })

const bind = (connection: Connection) => connection.model('ApiKey', apiKeySchema)

export type ApiKeyRecord = InferSchemaType<typeof apiKeySchema>
export type ApiKeyModel = ReturnType<typeof bind>

export function apiKeyModel (connection: Connection): ApiKeyModel {
  return (connection.models.ApiKey as ApiKeyModel | undefined) ?? bind(connection)
}
