import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'

/** What a key remembers: enough to answer a retry exactly as the first request was answered. */
export interface IdempotentUpload {
  fingerprint: string
  phoneNumber: string
  files: Array<{ uploadId: string, fileName: string }>
}

// Atomically: the earlier entry if the key is taken, else take it (Redis 6.2 has no SET NX GET).
const CLAIM = `
local earlier = redis.call('GET', KEYS[1])
if earlier then return earlier end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false`

// Only the request that took the key gives it back (its upload could not be queued).
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

/**
 * Idempotency keys and their uploads, in Redis with a TTL (FerretDB has no TTL index). Keys are
 * scoped (per API key, or per phone number for a request without one), so two clients cannot
 * collide on a key.
 */
export class IdempotencyStore {
  readonly #redis: Redis
  readonly #prefix: string
  readonly #ttlSeconds: number

  constructor (redis: Redis, prefix: string, ttlSeconds: number) {
    this.#redis = redis
    this.#prefix = prefix
    this.#ttlSeconds = ttlSeconds
  }

  /** Takes the key for `upload`; if it was taken before, returns what it holds instead. */
  async claim (scope: string, key: string, upload: IdempotentUpload): Promise<IdempotentUpload | undefined> {
    const earlier = await this.#redis.eval(CLAIM, 1, this.#key(scope, key), JSON.stringify(upload), this.#ttlSeconds) as string | null
    return earlier ? JSON.parse(earlier) as IdempotentUpload : undefined
  }

  async release (scope: string, key: string, upload: IdempotentUpload): Promise<void> {
    await this.#redis.eval(RELEASE, 1, this.#key(scope, key), JSON.stringify(upload))
  }

  #key (scope: string, key: string): string {
    const digest = createHash('sha256').update(`${scope}\n${key}`).digest('hex')
    return `${this.#prefix}:idempotency:${digest}`
  }
}
