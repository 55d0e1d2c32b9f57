import { Schema, type Connection, type InferSchemaType } from 'mongoose'

// Operators of the admin panel. Created with `npm run create-admin` (or ADMIN_BOOTSTRAP_*), both
// superusers, or by a superuser on the panel's Accounts page.
const adminUserSchema = new Schema({
  /** Lower case; see src/core/admin-account-rules.ts. */
  username: { type: String, required: true, maxlength: 150 },
  /** scrypt with its parameters and salt; see src/admin/auth/password.ts. */
  password_hash: { type: String, required: true },
  /** Sessions started before this moment are refused: changing a password logs out everywhere. */
  password_changed_at: { type: Date, required: true },
  created_at: { type: Date, required: true, default: () => new Date() },
  last_login_at: { type: Date },
  /**
   * May manage admin accounts. Absent on accounts made before the field existed: those were all
   * made from the command line or the bootstrap settings, so absent reads as true (see
   * isSuperuser); every account made since has it set.
   */
  is_superuser: { type: Boolean },
  /** A disabled account cannot log in, and its sessions end on their next request. */
  disabled: { type: Boolean, required: true, default: false },
  /** Who made the account on the panel (a username); absent for the command line and bootstrap. */
  created_by: { type: String }
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

/** An account is a superuser unless it says otherwise (accounts older than the flag were). */
export function isSuperuser (user: Pick<AdminUserRecord, 'is_superuser'>): boolean {
  return user.is_superuser !== false
}
