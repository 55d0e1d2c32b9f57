import type { Redis } from 'ioredis'
import { RedisLease } from '../queue/redis-lease.ts'
import { LocalCommitLock, type CommitLock } from '../storage/index.ts'

const TTL_MS = 30_000
// A waiting worker asks again this often: the lock is free between two commits for half of it on
// average, commit capacity lost (5 ms against commits of ~100-150 ms under Dropbox's latency).
const POLL_MS = 5
/** Longer than any batch commit, even one waiting out a 429; past it the jobs retry later. */
const WAIT_LIMIT_MS = 5 * 60_000

/**
 * One Dropbox commit at a time across every process sharing this Redis (workers), on the same
 * lease the Dropbox sync uses. Within a process, callers queue locally first so only one of them
 * polls Redis.
 */
export function redisCommitLock (redis: Redis, prefix: string): CommitLock {
  const lease = new RedisLease(redis, `${prefix}:dropbox-commit-lock`, TTL_MS)
  const local = new LocalCommitLock()
  return {
    run: work => local.run(async () => {
      const held = await lease.acquire({ waitMs: WAIT_LIMIT_MS, pollMs: POLL_MS })
      if (!held) throw new Error(`still held by another worker after ${WAIT_LIMIT_MS} ms`)
      try {
        return await work()
      } finally {
        await held.release()
      }
    })
  }
}
