import { Schema, type Connection, type InferSchemaType } from 'mongoose'

// Operators of the admin panel. Created with `npm run create-admin` (or ADMIN_BOOTSTRAP_*).
const adminUserSchema = new Schema({
  /** Lower case; see src/admin/auth/rules.ts. */
  username: { type: String, required: true, maxlength: 150 },
  /** scrypt with its parameters and salt; see src/admin/auth/password.ts. */
  password_hash: { type: String, required: true },
  /** Sessions started before this moment are refused: changing a password logs out everywhere. */
  password_changed_at: { type: Date, required: true },
  created_at: { type: Date, required: true, default: () => new Date() },
  last_login_at: { type: Date }
}, {
  collection: 'admin_users',
  versionKey: false
})

adminUserSchema.index({ username: 1 }, { unique: true })

const bind = (connection: Connection) => connection.model('AdminUser', adminUserSchema)

export type AdminUserRecord = InferSchemaType<typeof adminUserSchema>
export type AdminUserModel = ReturnType<typeof bind>

export function adminUserModel (connection: Connection): AdminUserModel {
  return (connection.models.AdminUser as AdminUserModel | undefined) ?? bind(connection)
}
