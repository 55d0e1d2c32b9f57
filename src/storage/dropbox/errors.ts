import { DropboxResponseError } from 'dropbox'
import { StoragePermanentError, StorageRateLimitError, StorageTransientError } from '../errors.ts'

/** 429: Dropbox asks every caller on this account to wait. */
export class DropboxRateLimitError extends StorageRateLimitError {
  override name = 'DropboxRateLimitError'

  constructor (reason: string, retryAfterMs: number) {
    super(`Dropbox rate limit (${reason}); retry after ${retryAfterMs} ms`, reason, retryAfterMs)
  }
}

/** 5xx, a network failure or a hash mismatch: the same call may well succeed later. */
export class DropboxTransientError extends StorageTransientError {
  override name = 'DropboxTransientError'
}

/** A refusal no retry can change (bad path, disallowed name, a 4xx other than 401/429). */
export class DropboxPermanentError extends StoragePermanentError {
  override name = 'DropboxPermanentError'
  /** The endpoint error's tag path, e.g. "path/disallowed_name", when Dropbox sent one. */
  readonly tag: string | undefined

  constructor (message: string, tag?: string, options?: ErrorOptions) {
    super(message, options)
    this.tag = tag
  }
}

interface EndpointErrorBody {
  error_summary?: string
  error?: { '.tag'?: string, reason?: { '.tag'?: string }, retry_after?: number }
}

/** The `.tag` path of an endpoint error, e.g. "path/conflict/file" (summary minus its "/..." tail). */
export function errorTag (err: unknown): string | undefined {
  if (!(err instanceof DropboxResponseError)) return undefined
  const body = err.error as EndpointErrorBody | string
  if (typeof body !== 'object' || body === null) return undefined
  return body.error_summary?.replace(/\/\.*$/, '').replace(/\/+$/, '') ?? body.error?.['.tag']
}

export function errorRootTag (err: unknown): string | undefined {
  if (!(err instanceof DropboxResponseError)) return undefined
  const body = err.error as EndpointErrorBody | string
  return typeof body === 'object' && body !== null ? body.error?.['.tag'] : undefined
}

/** Seconds from Retry-After, falling back to the body's retry_after, then to 1 s. */
function retryAfterMs (err: DropboxResponseError<unknown>): number {
  const header = Number((err.headers as Headers | undefined)?.get?.('retry-after'))
  if (Number.isFinite(header) && header >= 0) return header * 1000
  const body = err.error as EndpointErrorBody | string
  const fromBody = typeof body === 'object' ? body?.error?.retry_after : undefined
  return (fromBody ?? 1) * 1000
}

/** The OAuth error of a failed token refresh ({"error": "invalid_grant", ...}). */
function oauthError (err: DropboxResponseError<unknown>): string | undefined {
  const body = err.error as { error?: unknown } | string
  return typeof body === 'object' && body !== null && typeof body.error === 'string' ? body.error : undefined
}

/** Sorts any error from the SDK (or from fetch beneath it) into the three kinds above. */
export function classify (err: unknown): Error {
  if (err instanceof DropboxRateLimitError || err instanceof DropboxTransientError || err instanceof DropboxPermanentError) return err
  if (!(err instanceof DropboxResponseError)) {
    // fetch failures (connection refused, reset, DNS) surface as TypeError('fetch failed').
    return new DropboxTransientError(`Dropbox unreachable: ${(err as Error).message}`, { cause: err })
  }
  const status = err.status
  if (status === 429) {
    const body = err.error as EndpointErrorBody | string
    const reason = typeof body === 'object' ? body?.error?.reason?.['.tag'] ?? 'too_many_requests' : 'too_many_requests'
    return new DropboxRateLimitError(reason, retryAfterMs(err))
  }
  if (status >= 500) return new DropboxTransientError(`Dropbox server error ${status}`, { cause: err })
  const tag = errorTag(err)
  // Bytes damaged on the way: sending them again fixes it.
  if (tag?.includes('content_hash_mismatch')) return new DropboxTransientError(`Dropbox received other bytes than sent (${tag})`, { cause: err })
  const grant = oauthError(err)
  if (grant) return new DropboxPermanentError(`Dropbox rejected the app's credentials (${grant}): check DROPBOX_APP_KEY, DROPBOX_APP_SECRET and DROPBOX_REFRESH_TOKEN`, grant, { cause: err })
  const detail = tag ?? (typeof err.error === 'string' ? err.error.slice(0, 200) : `HTTP ${status}`)
  return new DropboxPermanentError(`Dropbox refused the request: ${detail}`, tag, { cause: err })
}
