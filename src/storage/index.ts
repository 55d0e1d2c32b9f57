import type { Config } from '../config.ts'
import { LocalCommitLock, type CommitLock } from './dropbox/commit-batcher.ts'
import { DropboxStorage } from './dropbox/storage.ts'
import { LocalStorage } from './local.ts'
import type { Storage } from './storage.ts'

export { LocalCommitLock, type CommitLock }

export interface StorageHooks {
  /**
   * Serializes Dropbox commits: workers pass one shared by every process (runtime/commit-lock.ts);
   * without it, within this process only (the API, which only reads and deletes).
   */
  commitLock?: CommitLock
  /** The backend said 429 (with its reason): workers pause the whole queue for that long. */
  onRateLimited?: (retryAfterMs: number, reason: string) => void
  /** A Dropbox batch commit went out with this many files (the metrics' batch sizes). */
  onBatchCommitted?: (entries: number) => void
}

export function createStorage (config: Config, hooks: StorageHooks = {}): Storage {
  if (!config.dropbox) return new LocalStorage(config.dataDir, config.publicBaseUrl)
  return new DropboxStorage(config.dropbox, {
    ...config.dropbox,
    commitLock: hooks.commitLock ?? new LocalCommitLock(),
    onRateLimited: hooks.onRateLimited ?? (() => {}),
    onBatchCommitted: hooks.onBatchCommitted ?? (() => {})
  })
}
