import { setTimeout as sleep } from 'node:timers/promises'
import { Dropbox, DropboxAuth, DropboxResponseError, type DropboxResponse } from 'dropbox'
import type { DropboxSettings } from '../../config.ts'
import { redirectingFetch } from './fetch.ts'
import { classify, DropboxTransientError } from './errors.ts'

// The SDK refreshes when the token expires within 300 s; we refresh a little earlier so that it
// never starts a refresh of its own (it would not be shared between concurrent calls).
const REFRESH_MARGIN_MS = 330_000
const TRANSIENT_RETRIES = 3
const TRANSIENT_BASE_DELAY_MS = 200

/**
 * The official SDK plus what it lacks: one token refresh at a time per process, shared by every
 * concurrent call; a retry after a 401 (the token expired server-side); short in-call retries of
 * 5xx and network errors with exponential backoff and jitter. Every error that escapes is one of
 * DropboxRateLimitError, DropboxTransientError, DropboxPermanentError.
 */
export class DropboxClient {
  readonly #auth: DropboxAuth
  readonly sdk: Dropbox
  readonly #fetch: typeof fetch
  #refreshing: Promise<void> | undefined
  #tokenGeneration = 0

  constructor (settings: DropboxSettings) {
    const fetch = redirectingFetch(settings.apiBaseUrl)
    this.#fetch = fetch
    this.#auth = new DropboxAuth({ clientId: settings.appKey, clientSecret: settings.appSecret, refreshToken: settings.refreshToken, fetch })
    this.sdk = new Dropbox({ auth: this.#auth, fetch })
  }

  /**
   * files/download as a stream, with an optional Range header (Dropbox's content endpoints
   * answer ranges with 206). The SDK's own filesDownload buffers the whole file in memory, which
   * serving images must not; this goes through call() all the same (token, 401, retries, errors).
   */
  async download (path: string, range?: { start: number, end: number }): Promise<Response> {
    return this.call(async () => {
      const headers: Record<string, string> = {
        Authorization: `Bearer ${this.#auth.getAccessToken()}`,
        'Dropbox-API-Arg': JSON.stringify({ path }).replace(/[\u007f-\uffff]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
      }
      if (range) headers.Range = `bytes=${range.start}-${range.end}`
      const res = await this.#fetch('https://content.dropboxapi.com/2/files/download', { method: 'POST', headers })
      if (!res.ok) throw new DropboxResponseError(res.status, res.headers, await errorBodyOf(res))
      return { status: res.status, headers: res.headers, result: res } as unknown as DropboxResponse<Response>
    })
  }

  /**
   * Runs one SDK call. `call` is invoked again on each retry, so it must build its request
   * afresh (a new read stream for an upload body).
   */
  async call<T> (call: (sdk: Dropbox) => Promise<DropboxResponse<T>>): Promise<T> {
    let refreshedAfter401 = false
    for (let attempt = 0; ; attempt++) {
      const generation = await this.#freshToken()
      try {
        return (await call(this.sdk)).result
      } catch (err) {
        if (err instanceof DropboxResponseError && err.status === 401 && !refreshedAfter401) {
          refreshedAfter401 = true
          await this.#refresh(generation)
          continue
        }
        const classified = classify(err)
        if (classified instanceof DropboxTransientError && attempt < TRANSIENT_RETRIES) {
          await sleep(TRANSIENT_BASE_DELAY_MS * 2 ** attempt * (0.5 + Math.random()))
          continue
        }
        throw classified
      }
    }
  }

  /** Makes sure a token valid for a while is set; returns its generation. */
  async #freshToken (): Promise<number> {
    const expiresAt = this.#auth.getAccessTokenExpiresAt() as Date | undefined
    if (!this.#auth.getAccessToken() || !expiresAt || expiresAt.getTime() - Date.now() < REFRESH_MARGIN_MS) {
      await this.#refresh(this.#tokenGeneration)
    }
    return this.#tokenGeneration
  }

  /**
   * Refreshes unless a newer token than `generation` exists already: concurrent callers that all
   * saw the same expired token share one refresh.
   */
  async #refresh (generation: number): Promise<void> {
    if (generation !== this.#tokenGeneration) return
    this.#refreshing ??= this.#auth.refreshAccessToken()
      .then(() => { this.#tokenGeneration++ })
      .catch((err: unknown) => { throw classify(err) })
      .finally(() => { this.#refreshing = undefined })
    await this.#refreshing
  }
}

/** An error response's body as the SDK gives it: parsed JSON, or the text. */
async function errorBodyOf (res: Response): Promise<unknown> {
  const text = await res.text()
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
