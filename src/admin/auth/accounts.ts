import type { AdminUserModel } from '../../models/admin-user.ts'
import { decoyHash, hashPassword, verifyPassword } from './password.ts'
import { normalizeUsername, passwordProblem } from '../../core/admin-account-rules.ts'

/** Who a session belongs to; `passwordChangedAt` ties the session to the password it began with. */
export interface AdminIdentity {
  id: string
  username: string
  passwordChangedAt: number
}

export class AccountError extends Error {
  override name = 'AccountError'
}

const isDuplicateKey = (err: unknown): boolean => (err as { code?: unknown }).code === 11000

/** Admin accounts in MongoDB: created from the command line, checked at login and on each request. */
export class AdminAccounts {
  readonly #users: AdminUserModel

  constructor (users: AdminUserModel) {
    this.#users = users
  }

  async create (rawUsername: string, password: string): Promise<AdminIdentity> {
    const username = this.#validUsername(rawUsername)
    const problem = passwordProblem(password)
    if (problem) throw new AccountError(problem)
    const now = new Date()
    try {
      const user = await this.#users.create({ username, password_hash: await hashPassword(password), password_changed_at: now, created_at: now })
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
   * The account when the password matches. An unknown name costs the same scrypt run as a wrong
   * password, so response times do not tell which account names exist.
   */
  async authenticate (rawUsername: string, password: string): Promise<AdminIdentity | undefined> {
    const username = normalizeUsername(rawUsername)
    const user = username === undefined ? null : await this.#users.findOne({ username }).lean()
    const ok = await verifyPassword(password, user?.password_hash ?? await decoyHash())
    if (!user || !ok) return undefined
    await this.#users.updateOne({ _id: user._id }, { $set: { last_login_at: new Date() } })
    return { id: user._id.toHexString(), username: user.username, passwordChangedAt: user.password_changed_at.getTime() }
  }

  /** False once the account is gone or its password changed after the session began. */
  async stillValid (identity: AdminIdentity): Promise<boolean> {
    const user = await this.#users.findById(identity.id, { password_changed_at: 1 }).lean()
    return user !== null && user.password_changed_at.getTime() === identity.passwordChangedAt
  }

  #validUsername (raw: string): string {
    const username = normalizeUsername(raw)
    if (username === undefined) throw new AccountError('A username is 1 to 150 letters, digits and @ . + - _ characters.')
    return username
  }
}
