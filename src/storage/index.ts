import type { Config } from '../config.ts'
import { LocalCommitLock, type CommitLock } from './dropbox/commit-batcher.ts'
import { DropboxStorage } from './dropbox/storage.ts'
import { LocalStorage } from './local.ts'
import type { Storage } from './storage.ts'

export interface StorageHooks {
  /** Serializes Dropbox commits; workers pass a Redis lock shared by every worker process. */
  commitLock?: CommitLock
  /** Dropbox said 429: workers pause the whole queue for that long. */
  onRateLimited?: (retryAfterMs: number) => void
}

export function createStorage (config: Config, hooks: StorageHooks = {}): Storage {
  if (!config.dropbox) return new LocalStorage(config.dataDir, config.publicBaseUrl)
  return new DropboxStorage(config.dropbox, {
    ...config.dropbox,
    commitLock: hooks.commitLock ?? new LocalCommitLock(),
    onRateLimited: hooks.onRateLimited ?? (() => {})
  })
}
