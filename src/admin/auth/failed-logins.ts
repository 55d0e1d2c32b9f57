import type { Redis } from 'ioredis'

/**
 * Failed logins per account name, across every API process: after `limit` failures in a window,
 * the name is refused until the window ends, whichever address tries. (The per-address limit on
 * every attempt is @fastify/rate-limit's, on the route.) A success clears the count.
 */
export class FailedLogins {
  readonly #redis: Redis
  readonly #prefix: string
  readonly #limit: number
  readonly #windowMs: number

  constructor (redis: Redis, prefix: string, limit: number, windowMs: number) {
    this.#redis = redis
    this.#prefix = `${prefix}:admin:failed-logins:`
    this.#limit = limit
    this.#windowMs = windowMs
  }

  /** Seconds until the name may try again; 0 when it may now. */
  async retryAfter (username: string): Promise<number> {
    const key = this.#prefix + username
    const [[, count], [, ttl]] = await this.#redis.multi().get(key).pttl(key).exec() as [[null, string | null], [null, number]]
    return Number(count ?? 0) >= this.#limit ? Math.max(1, Math.ceil(ttl / 1000)) : 0
  }

  async record (username: string): Promise<void> {
    const key = this.#prefix + username
    // The window starts at the first failure and is not stretched by later ones.
    await this.#redis.multi().set(key, 0, 'PX', this.#windowMs, 'NX').incr(key).exec()
  }

  async clear (username: string): Promise<void> {
    await this.#redis.del(this.#prefix + username)
  }
}
