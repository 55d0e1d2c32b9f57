import { setTimeout as sleep } from 'node:timers/promises'
import type { files } from 'dropbox'
import type { DropboxClient } from './client.ts'
import { DropboxPermanentError, DropboxRateLimitError, DropboxTransientError } from './errors.ts'

/** Serializes commits to one Dropbox account, across processes when backed by Redis. */
export interface CommitLock {
  run<T> (work: () => Promise<T>): Promise<T>
}

/** In-process serialization: enough for a single worker process. */
export class LocalCommitLock implements CommitLock {
  #tail: Promise<unknown> = Promise.resolve()

  run<T> (work: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(work, work)
    this.#tail = result.catch(() => {})
    return result
  }
}

export interface BatcherOptions {
  /** Most entries per finish_batch_v2 call (Dropbox allows 1,000). */
  maxEntries: number
  /** How long an idle batcher waits for more entries before committing. */
  windowMs: number
  /** Called with Retry-After (and Dropbox's reason) when Dropbox throttles, so the whole queue can back off. */
  onRateLimited: (retryAfterMs: number, reason: string) => void
  /** Called with the number of entries of each commit sent (metrics). */
  onBatchCommitted?: (entries: number) => void
  /** Times one entry is retried after too_many_write_operations before its job is failed. */
  maxEntryRetries?: number
}

interface PendingEntry {
  entry: files.UploadSessionFinishArg
  retries: number
  resolve: (metadata: files.FileMetadata) => void
  reject: (err: Error) => void
}

// Entry failures the same session can retry in a later batch (lock contention)...
const REQUEUE = new Set(['too_many_write_operations'])
// ...and refusals of the file itself, which no retry changes. Anything else (a lost session, a
// hash mismatch) fails the attempt, and the job's retry uploads the bytes again.
const PERMANENT = new Set(['path', 'properties_error', 'encryption_not_supported', 'too_many_shared_folder_targets'])

/**
 * Dropbox's advice for many files: upload the bytes through sessions in parallel, then commit
 * them together with finish_batch_v2, one commit at a time per account, because concurrent
 * commits contend for the account's write lock (429 too_many_write_operations). Callers hand in
 * closed sessions one by one and get their own file's metadata back; entries that arrive while
 * a commit is running go into the next one (group commit).
 */
export class CommitBatcher {
  readonly #client: DropboxClient
  readonly #lock: CommitLock
  readonly #options: Required<BatcherOptions>
  #queue: PendingEntry[] = []
  #scheduled = false

  constructor (client: DropboxClient, lock: CommitLock, options: BatcherOptions) {
    this.#client = client
    this.#lock = lock
    this.#options = { maxEntryRetries: 20, onBatchCommitted: () => {}, ...options }
  }

  commit (entry: files.UploadSessionFinishArg): Promise<files.FileMetadata> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ entry, retries: 0, resolve, reject })
      this.#schedule()
    })
  }

  #schedule (): void {
    if (this.#scheduled) return
    this.#scheduled = true
    // The window lets a burst of jobs land in one batch; the lock then holds later arrivals
    // until the running commit ends, when they all go together.
    setTimeout(() => {
      this.#scheduled = false
      this.#lock.run(() => this.#flush()).catch((err: unknown) => this.#failQueued(err))
    }, this.#options.windowMs)
  }

  /** The lock could not be taken (Redis refused or timed out): the waiting entries' jobs retry. */
  #failQueued (err: unknown): void {
    const error = new DropboxTransientError(`could not take the Dropbox commit lock: ${(err as Error).message}`)
    for (const pending of this.#queue.splice(0)) pending.reject(error)
  }

  async #flush (): Promise<void> {
    const batch = this.#queue.splice(0, this.#options.maxEntries)
    if (batch.length === 0) return
    if (this.#queue.length > 0) this.#schedule()
    try {
      const result = await this.#commitWithBackoff(batch.map(p => p.entry))
      result.entries.forEach((entry, i) => this.#settle(batch[i]!, entry))
    } catch (err) {
      for (const pending of batch) pending.reject(err as Error)
    }
  }

  /** One batch call, waiting out 429s (and telling the queue to wait too) until it goes through. */
  async #commitWithBackoff (entries: files.UploadSessionFinishArg[]): Promise<files.UploadSessionFinishBatchResult> {
    for (;;) {
      try {
        const result = await this.#client.call(sdk => sdk.filesUploadSessionFinishBatchV2({ entries }))
        this.#options.onBatchCommitted(entries.length)
        return result
      } catch (err) {
        if (!(err instanceof DropboxRateLimitError)) throw err
        this.#options.onRateLimited(err.retryAfterMs, err.reason)
        await sleep(err.retryAfterMs)
      }
    }
  }

  #settle (pending: PendingEntry, result: files.UploadSessionFinishBatchResultEntry): void {
    if (result['.tag'] === 'success') {
      const { '.tag': _, ...metadata } = result
      return pending.resolve(metadata)
    }
    const tag = result.failure['.tag']
    if (REQUEUE.has(tag) && pending.retries < this.#options.maxEntryRetries) {
      pending.retries++
      this.#queue.push(pending)
      return this.#schedule()
    }
    const detail = failurePath(result.failure)
    pending.reject(PERMANENT.has(tag)
      ? new DropboxPermanentError(`Dropbox refused the file: ${detail}`, detail)
      : new DropboxTransientError(`Dropbox could not commit the file: ${detail}`))
  }
}

/** "path/disallowed_name" from a nested union value. */
function failurePath (value: unknown): string {
  const parts: string[] = []
  let node = value as Record<string, unknown> | undefined
  while (node && typeof node === 'object' && typeof node['.tag'] === 'string') {
    const tag = node['.tag']
    parts.push(tag)
    node = (node[tag] ?? node.reason) as Record<string, unknown> | undefined
  }
  return parts.join('/') || 'unknown'
}
