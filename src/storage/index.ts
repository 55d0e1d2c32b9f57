import type { Redis } from 'ioredis'
import type { Config } from '../config.ts'
import { LocalCommitLock } from './dropbox/commit-batcher.ts'
import { RedisCommitLock } from './dropbox/redis-commit-lock.ts'
import { DropboxStorage } from './dropbox/storage.ts'
import { LocalStorage } from './local.ts'
import type { Storage } from './storage.ts'

export interface StorageHooks {
  /**
   * Given, Dropbox commits are serialized across every process sharing this Redis (workers);
   * without it, within this process only (the API, which only reads and deletes).
   */
  redis?: Redis
  /** The backend said 429 (with its reason): workers pause the whole queue for that long. */
  onRateLimited?: (retryAfterMs: number, reason: string) => void
  /** A Dropbox batch commit went out with this many files (the metrics' batch sizes). */
  onBatchCommitted?: (entries: number) => void
}

export function createStorage (config: Config, hooks: StorageHooks = {}): Storage {
  if (!config.dropbox) return new LocalStorage(config.dataDir, config.publicBaseUrl)
  return new DropboxStorage(config.dropbox, {
    ...config.dropbox,
    commitLock: hooks.redis ? new RedisCommitLock(hooks.redis, `${config.queuePrefix}:dropbox-commit-lock`) : new LocalCommitLock(),
    onRateLimited: hooks.onRateLimited ?? (() => {}),
    onBatchCommitted: hooks.onBatchCommitted ?? (() => {})
  })
}
