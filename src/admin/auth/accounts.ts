import { Types } from 'mongoose'
import { isSuperuser, type AdminUserModel, type AdminUserRecord } from '../../models/admin-user.ts'
import { decoyHash, hashPassword, verifyPassword } from './password.ts'
import { normalizeUsername, passwordProblem } from '../../core/admin-account-rules.ts'

/** Who a session belongs to; `passwordChangedAt` ties the session to the password it began with. */
export interface AdminIdentity {
  id: string
  username: string
  passwordChangedAt: number
}

/** What an account may do, as of this request. */
export interface AccountState {
  superuser: boolean
}

/** An account as the Accounts page shows it (never its password hash). */
export interface AccountSummary {
  id: string
  username: string
  superuser: boolean
  disabled: boolean
  createdAt: Date
  createdBy?: string
  lastLoginAt?: Date
  passwordChangedAt: Date
}

function summaryOf (user: Omit<AdminUserRecord, 'password_hash'> & { _id: Types.ObjectId }): AccountSummary {
  return {
    id: user._id.toHexString(),
    username: user.username,
    superuser: isSuperuser(user),
    disabled: user.disabled === true,
    createdAt: user.created_at,
    createdBy: user.created_by ?? undefined,
    lastLoginAt: user.last_login_at ?? undefined,
    passwordChangedAt: user.password_changed_at
  }
}

export class AccountError extends Error {
  override name = 'AccountError'
}

const isDuplicateKey = (err: unknown): boolean => (err as { code?: unknown }).code === 11000

/**
 * Admin accounts in MongoDB: created from the command line or by a superuser on the panel,
 * checked at login and on each request.
 */
export class AdminAccounts {
  readonly #users: AdminUserModel

  constructor (users: AdminUserModel) {
    this.#users = users
  }

  /**
   * A new account. Superuser unless told otherwise: the command line and the bootstrap settings
   * make superusers; the panel's form says which it makes.
   */
  async create (rawUsername: string, password: string, options: { superuser?: boolean, createdBy?: string } = {}): Promise<AdminIdentity> {
    const username = this.#validUsername(rawUsername)
    const problem = passwordProblem(password)
    if (problem) throw new AccountError(problem)
    const now = new Date()
    try {
      const user = await this.#users.create({
        username,
        password_hash: await hashPassword(password),
        password_changed_at: now,
        created_at: now,
        is_superuser: options.superuser ?? true,
        disabled: false,
        ...(options.createdBy !== undefined && { created_by: options.createdBy })
      })
      return { id: user._id.toHexString(), username, passwordChangedAt: now.getTime() }
    } catch (err) {
      if (isDuplicateKey(err)) throw new AccountError(`An admin account named '${username}' already exists.`)
      throw err
    }
  }

  /** Sets a new password; every session of the account ends with the old one. */
  async setPassword (rawUsername: string, password: string): Promise<void> {
    const username = this.#validUsername(rawUsername)
    const problem = passwordProblem(password)
    if (problem) throw new AccountError(problem)
    const result = await this.#users.updateOne({ username }, { $set: { password_hash: await hashPassword(password), password_changed_at: new Date() } })
    if (result.matchedCount === 0) throw new AccountError(`There is no admin account named '${username}'.`)
  }

  async any (): Promise<boolean> {
    return (await this.#users.countDocuments({}, { limit: 1 })) > 0
  }

  /**
   * The account when the password matches; 'disabled' when it matches an account that is
   * disabled. An unknown name costs the same scrypt run as a wrong password, so response times do
   * not tell which account names exist.
   */
  async authenticate (rawUsername: string, password: string): Promise<AdminIdentity | 'disabled' | undefined> {
    const username = normalizeUsername(rawUsername)
    const user = username === undefined ? null : await this.#users.findOne({ username }).lean()
    const ok = await verifyPassword(password, user?.password_hash ?? await decoyHash())
    if (!user || !ok) return undefined
    if (user.disabled) return 'disabled'
    await this.#users.updateOne({ _id: user._id }, { $set: { last_login_at: new Date() } })
    return { id: user._id.toHexString(), username: user.username, passwordChangedAt: user.password_changed_at.getTime() }
  }

  /**
   * What a session may do now, read on every request; undefined once the account is gone or
   * disabled, or its password changed after the session began.
   */
  async current (identity: AdminIdentity): Promise<AccountState | undefined> {
    const user = await this.#users.findById(identity.id, { password_changed_at: 1, disabled: 1, is_superuser: 1 }).lean()
    if (user === null || user.disabled || user.password_changed_at.getTime() !== identity.passwordChangedAt) return undefined
    return { superuser: isSuperuser(user) }
  }

  /** Every account, by name, for the Accounts page. */
  async list (): Promise<AccountSummary[]> {
    const users = await this.#users.find({}, { password_hash: 0 }).sort({ username: 1 }).lean()
    return users.map(summaryOf)
  }

  async byId (id: string): Promise<AccountSummary | undefined> {
    if (!Types.ObjectId.isValid(id)) return undefined
    const user = await this.#users.findById(id, { password_hash: 0 }).lean()
    return user === null ? undefined : summaryOf(user)
  }

  /** Disables or enables an account; a disabled account's sessions end on their next request. */
  async setDisabled (id: string, disabled: boolean): Promise<void> {
    const result = await this.#users.updateOne({ _id: id }, { $set: { disabled } })
    if (result.matchedCount === 0) throw new AccountError('There is no such admin account; it may have been removed.')
  }

  /** A new password for the account with this id; its sessions end. Returns when it took effect. */
  async resetPassword (id: string, password: string): Promise<number> {
    const problem = passwordProblem(password)
    if (problem) throw new AccountError(problem)
    const at = new Date()
    const result = await this.#users.updateOne({ _id: id }, { $set: { password_hash: await hashPassword(password), password_changed_at: at } })
    if (result.matchedCount === 0) throw new AccountError('There is no such admin account; it may have been removed.')
    return at.getTime()
  }

  /** Makes an account a superuser or not (the command line's --superuser / --no-superuser). */
  async setSuperuser (rawUsername: string, superuser: boolean): Promise<void> {
    const username = this.#validUsername(rawUsername)
    const result = await this.#users.updateOne({ username }, { $set: { is_superuser: superuser } })
    if (result.matchedCount === 0) throw new AccountError(`There is no admin account named '${username}'.`)
  }

  #validUsername (raw: string): string {
    const username = normalizeUsername(raw)
    if (username === undefined) throw new AccountError('A username is 1 to 150 letters, digits and @ . + - _ characters.')
    return username
  }
}
