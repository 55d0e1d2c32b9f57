import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { ERRORS, type Lock, type Locker, type RequestRelease } from '@tus/utils'
import type { Redis } from 'ioredis'

// One writer per resumable upload across every API process: a lock in Redis, on @tus/utils'
// Locker interface (tus-node-server ships only an in-memory one).
//
// - A lock is a key holding its owner's token, set with NX and a TTL, renewed while it is held:
//   a crashed API process holds an upload for one TTL at most.
// - A request that finds the upload locked asks the holder to let go (tus's requestRelease: a
//   client that resumes has given up on its earlier request, often a half-open connection), over
//   Redis pub/sub so the holder may be any process; the holder's request then ends (tus gives it
//   lockDrainTimeout to stop writing cleanly) and unlocks. The asker polls until the key is free,
//   until its request is aborted, or until acquireTimeoutMs (ERR_LOCK_TIMEOUT).
// - Only the owner's token unlocks or renews (a script compares it). A holder whose renewal finds
//   the lock gone (expired while Redis was out of reach) is asked to let go at once.

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

export interface RedisLockerOptions {
  /** QUEUE_PREFIX: locks are `<prefix>:resumable-lock:<upload id>`. */
  prefix: string
  /** A lock not renewed for this long is free again (renewed every third of it). */
  ttlMs?: number
  /** How long a request waits for an upload's lock before giving up. Longer than ttlMs. */
  acquireTimeoutMs?: number
  /** How often a waiting request tries again. */
  retryMs?: number
  /** Told about a failed renewal or release (Redis unreachable); the TTL bounds the harm. */
  onError?: (err: Error) => void
}

export class RedisLocker implements Locker {
  readonly ttlMs: number
  readonly acquireTimeoutMs: number
  readonly retryMs: number
  readonly #redis: Redis
  readonly #subscriber: Redis
  readonly #prefix: string
  readonly #channel: string
  readonly #onError: (err: Error) => void
  /** The locks this process holds, by upload id: whom to tell when another request wants one. */
  readonly #held = new Map<string, RequestRelease>()

  /**
   * `redis` runs the commands; `subscriber` is a connection of its own that this locker puts in
   * subscriber mode (call start()). The caller owns and closes both.
   */
  constructor (redis: Redis, subscriber: Redis, options: RedisLockerOptions) {
    this.#redis = redis
    this.#subscriber = subscriber
    this.#prefix = `${options.prefix}:resumable-lock:`
    this.#channel = `${options.prefix}:resumable-lock-release`
    this.ttlMs = options.ttlMs ?? 10_000
    this.acquireTimeoutMs = options.acquireTimeoutMs ?? 2 * this.ttlMs
    this.retryMs = options.retryMs ?? 50
    this.#onError = options.onError ?? (() => {})
  }

  /** Listens for other processes' release requests. */
  async start (): Promise<void> {
    this.#subscriber.on('message', (channel: string, id: string) => {
      if (channel === this.#channel) void this.#askToRelease(id)
    })
    await this.#subscriber.subscribe(this.#channel)
  }

  newLock (id: string): Lock {
    return new RedisLock(this, id)
  }

  /** @internal */
  key (id: string): string {
    return this.#prefix + id
  }

  /** @internal */
  async tryAcquire (id: string, token: string, requestRelease: RequestRelease): Promise<boolean> {
    const ok = await this.#redis.set(this.key(id), token, 'PX', this.ttlMs, 'NX')
    if (ok === null) return false
    this.#held.set(id, requestRelease)
    return true
  }

  /** @internal Asks whoever holds the lock, in any process, to let go. */
  async requestRelease (id: string): Promise<void> {
    await this.#redis.publish(this.#channel, id)
  }

  /** @internal False once the lock is not this token's any more. */
  async renew (id: string, token: string): Promise<boolean> {
    return await this.#redis.eval(RENEW, 1, this.key(id), token, this.ttlMs) === 1
  }

  /** @internal */
  async release (id: string, token: string, requestRelease: RequestRelease): Promise<void> {
    if (this.#held.get(id) === requestRelease) this.#held.delete(id)
    try {
      await this.#redis.eval(RELEASE, 1, this.key(id), token)
    } catch (err) {
      // The key expires on its own within the TTL.
      this.#onError(err as Error)
    }
  }

  /** @internal */
  reportError (err: Error): void {
    this.#onError(err)
  }

  async #askToRelease (id: string): Promise<void> {
    try {
      await this.#held.get(id)?.()
    } catch (err) {
      this.#onError(err as Error)
    }
  }
}

class RedisLock implements Lock {
  readonly #locker: RedisLocker
  readonly #id: string
  readonly #token = randomUUID()
  #renewal: NodeJS.Timeout | undefined
  #requestRelease: RequestRelease = () => {}

  constructor (locker: RedisLocker, id: string) {
    this.#locker = locker
    this.#id = id
  }

  async lock (signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    const locker = this.#locker
    const deadline = Date.now() + locker.acquireTimeoutMs
    let askedAt = 0
    for (;;) {
      if (signal.aborted) throw ERRORS.ERR_LOCK_TIMEOUT
      if (await locker.tryAcquire(this.#id, this.#token, requestRelease)) break
      // Asked again every second: the holder we asked may have handed over to another request.
      if (Date.now() - askedAt >= 1000) {
        askedAt = Date.now()
        await locker.requestRelease(this.#id)
      }
      if (Date.now() >= deadline) throw ERRORS.ERR_LOCK_TIMEOUT
      await sleep(locker.retryMs * (0.5 + Math.random()), undefined, { signal }).catch(() => {})
    }
    this.#requestRelease = requestRelease
    this.#renewal = setInterval(() => { void this.#renew() }, Math.max(100, Math.floor(locker.ttlMs / 3))).unref()
  }

  async unlock (): Promise<void> {
    clearInterval(this.#renewal)
    this.#renewal = undefined
    await this.#locker.release(this.#id, this.#token, this.#requestRelease)
  }

  async #renew (): Promise<void> {
    if (this.#renewal === undefined) return
    try {
      if (await this.#locker.renew(this.#id, this.#token)) return
    } catch (err) {
      // Redis out of reach: try again at the next tick; the lock lasts a TTL meanwhile.
      this.#locker.reportError(err as Error)
      return
    }
    // Lost (it expired): whatever this request is writing must stop.
    clearInterval(this.#renewal)
    this.#renewal = undefined
    this.#locker.reportError(new Error(`the lock of resumable upload ${this.#id} expired while held`))
    await this.#requestRelease()
  }
}
