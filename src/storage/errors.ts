// The error vocabulary every storage backend speaks, so callers (the worker, the admin) decide
// retry or refusal without knowing which backend answered.

/** The backend asks every caller to wait (Dropbox's 429): pause, then retry without penalty. */
export class StorageRateLimitError extends Error {
  override name = 'StorageRateLimitError'
  readonly retryAfterMs: number
  readonly reason: string

  constructor (message: string, reason: string, retryAfterMs: number) {
    super(message)
    this.reason = reason
    this.retryAfterMs = retryAfterMs
  }
}

/** A server error, a network failure, damaged bytes: the same call may well succeed later. */
export class StorageTransientError extends Error {
  override name = 'StorageTransientError'
}

/** A refusal no retry can change (a name the backend rejects, bad credentials). */
export class StoragePermanentError extends Error {
  override name = 'StoragePermanentError'
}

/** A change-tracking cursor the backend no longer answers (Dropbox's `reset`): list everything again. */
export class StorageCursorResetError extends Error {
  override name = 'StorageCursorResetError'
}
