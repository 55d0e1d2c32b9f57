import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import { LocalCommitLock, type CommitLock } from './commit-batcher.ts'

const TTL_MS = 30_000
const POLL_MS = 20
/** Longer than any batch commit, even one waiting out a 429; past it the jobs retry later. */
const WAIT_LIMIT_MS = 5 * 60_000
// Delete or extend the key only while it still holds our token.
const RELEASE = 'if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end'
const EXTEND = 'if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end'

/**
 * One Dropbox commit at a time across every worker process: a Redis key with a token and a TTL
 * (so a crashed holder frees it), renewed while the commit runs. Within a process, callers queue
 * locally first so only one of them polls Redis.
 */
export class RedisCommitLock implements CommitLock {
  readonly #redis: Redis
  readonly #key: string
  readonly #local = new LocalCommitLock()

  constructor (redis: Redis, key: string) {
    this.#redis = redis
    this.#key = key
  }

  run<T> (work: () => Promise<T>): Promise<T> {
    return this.#local.run(async () => {
      const token = randomUUID()
      const deadline = Date.now() + WAIT_LIMIT_MS
      while (await this.#redis.set(this.#key, token, 'PX', TTL_MS, 'NX') !== 'OK') {
        if (Date.now() > deadline) throw new Error(`still held by another worker after ${WAIT_LIMIT_MS} ms`)
        await sleep(POLL_MS)
      }
      const renew = setInterval(() => { this.#redis.eval(EXTEND, 1, this.#key, token, TTL_MS).catch(() => {}) }, TTL_MS / 3)
      try {
        return await work()
      } finally {
        clearInterval(renew)
        await this.#redis.eval(RELEASE, 1, this.#key, token).catch(() => {})
      }
    })
  }
}
