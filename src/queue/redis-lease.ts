import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'

// Delete or extend the key only while it still holds our token.
const RELEASE = 'if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end'
const EXTEND = 'if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end'

export interface HeldLease {
  /** Our token in the key: writes fenced with it (see DropboxSyncState) fail once the lease is lost. */
  readonly token: string
  /** Aborted when the lease is lost: a renewal found another holder, or none succeeded within the TTL. */
  readonly lost: AbortSignal
  release (): Promise<void>
}

/**
 * "One at a time across every process" for long work: a Redis key holding a token, with a TTL so
 * a holder that dies frees it, renewed every third of the TTL while the work runs.
 */
export class RedisLease {
  readonly #redis: Redis
  readonly #key: string
  readonly #ttlMs: number

  constructor (redis: Redis, key: string, ttlMs: number) {
    this.#redis = redis
    this.#key = key
    this.#ttlMs = ttlMs
  }

  get key (): string {
    return this.#key
  }

  /**
   * Takes the lease, waiting up to `waitMs` for its holder to let go (or to die: a dead holder's
   * lease ends within the TTL). Undefined when it is still held after that.
   */
  async acquire ({ waitMs = 0, pollMs = 100 }: { waitMs?: number, pollMs?: number } = {}): Promise<HeldLease | undefined> {
    const token = randomUUID()
    const deadline = Date.now() + waitMs
    while (await this.#redis.set(this.#key, token, 'PX', this.#ttlMs, 'NX') !== 'OK') {
      if (Date.now() >= deadline) return undefined
      await sleep(pollMs)
    }
    const lost = new AbortController()
    let renewedAt = Date.now()
    const renew = setInterval(() => {
      this.#redis.eval(EXTEND, 1, this.#key, token, this.#ttlMs).then(
        extended => {
          if (extended === 1) renewedAt = Date.now()
          else lost.abort(new Error('the lease was taken by another holder'))
        },
        () => { if (Date.now() - renewedAt >= this.#ttlMs) lost.abort(new Error('the lease could not be renewed in time')) }
      )
    }, Math.max(50, Math.floor(this.#ttlMs / 3)))
    return {
      token,
      lost: lost.signal,
      release: async () => {
        clearInterval(renew)
        await this.#redis.eval(RELEASE, 1, this.#key, token).catch(() => {})
      }
    }
  }
}
