import { createHash, randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { AdminIdentity } from './accounts.ts'

export interface AdminSession extends AdminIdentity {
  /** The cookie's value. Redis only ever holds its hash, so a copy of Redis logs nobody in. */
  sid: string
  /** The synchronizer token every form of this session carries. */
  csrfToken: string
  createdAt: number
}

export interface Flash {
  kind: 'success' | 'warning' | 'error'
  text: string
}

type Stored = Omit<AdminSession, 'sid'>

const token = (): string => randomBytes(32).toString('base64url')

/**
 * Server-side sessions in Redis: revocable at once (logout deletes the key), expiring by
 * themselves (idle TTL on the key, absolute lifetime checked on read). Flash messages, shown
 * once after a redirect, live in a list beside the session.
 */
export class SessionStore {
  readonly #redis: Redis
  readonly #prefix: string
  readonly #ttlSeconds: number
  readonly #maxAgeMs: number

  constructor (redis: Redis, prefix: string, ttlSeconds: number, maxAgeSeconds: number) {
    this.#redis = redis
    this.#prefix = `${prefix}:admin:session:`
    this.#ttlSeconds = ttlSeconds
    this.#maxAgeMs = maxAgeSeconds * 1000
  }

  async create (identity: AdminIdentity): Promise<AdminSession> {
    const session: AdminSession = { ...identity, sid: token(), csrfToken: token(), createdAt: Date.now() }
    const { sid, ...stored } = session
    await this.#redis.set(this.#key(sid), JSON.stringify(stored satisfies Stored), 'EX', this.#ttlSeconds)
    return session
  }

  /** The live session for a cookie value, its idle timer restarted; undefined when it ended. */
  async get (sid: string): Promise<AdminSession | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(sid)) return undefined
    const key = this.#key(sid)
    const raw = await this.#redis.getex(key, 'EX', this.#ttlSeconds)
    if (raw === null) return undefined
    const stored = JSON.parse(raw) as Stored
    const left = stored.createdAt + this.#maxAgeMs - Date.now()
    if (left <= 0) {
      await this.destroy(sid)
      return undefined
    }
    if (left < this.#ttlSeconds * 1000) await this.#redis.pexpire(key, left)
    return { ...stored, sid }
  }

  async destroy (sid: string): Promise<void> {
    const key = this.#key(sid)
    await this.#redis.del(key, `${key}:flash`)
  }

  async flash (session: AdminSession, flash: Flash): Promise<void> {
    const key = `${this.#key(session.sid)}:flash`
    await this.#redis.multi().rpush(key, JSON.stringify(flash)).expire(key, this.#ttlSeconds).exec()
  }

  /** The messages waiting for this session, removed as they are read. */
  async takeFlashes (session: AdminSession): Promise<Flash[]> {
    const key = `${this.#key(session.sid)}:flash`
    const results = await this.#redis.multi().lrange(key, 0, -1).del(key).exec()
    const items = (results?.[0]?.[1] ?? []) as string[]
    return items.map(item => JSON.parse(item) as Flash)
  }

  #key (sid: string): string {
    return this.#prefix + createHash('sha256').update(sid).digest('base64url')
  }
}
