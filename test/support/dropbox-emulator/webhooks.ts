import { createHmac } from 'node:crypto'
import type { CounterSet } from './counters.ts'
import type { WebhookDelivery, WebhookSettings } from './types.ts'

// Dropbox's change notifications: a POST to the app's webhook URL whose body names the accounts
// with changes, signed in X-Dropbox-Signature with the hex HMAC-SHA256 of the raw body, keyed
// with the app secret. It says only that something changed; the receiver calls
// list_folder/continue to learn what. Dropbox expects an answer within 10 seconds.

const TIMEOUT_MS = 10_000

export interface AccountIdentity {
  accountId: string
  userId: number
}

export function signature (body: string, appSecret: string): string {
  return createHmac('sha256', appSecret).update(body).digest('hex')
}

export class Webhooks {
  #settings: WebhookSettings
  readonly #identity: AccountIdentity
  readonly #counters: CounterSet
  #timer: NodeJS.Timeout | undefined
  readonly #inFlight = new Set<Promise<WebhookDelivery>>()
  readonly #closing = new AbortController()

  constructor (settings: WebhookSettings, identity: AccountIdentity, counters: CounterSet) {
    this.#settings = settings
    this.#identity = identity
    this.#counters = counters
  }

  get settings (): WebhookSettings {
    return { ...this.#settings }
  }

  configure (settings: WebhookSettings): void {
    this.#settings = settings
  }

  // Called on every change. Changes arriving within debounceMs share one notification, as
  // Dropbox batches them; the first change starts the wait, so a steady stream of changes still
  // notifies every debounceMs rather than never.
  changed (): void {
    if (this.#settings.url === null || this.#timer !== undefined || this.#closing.signal.aborted) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      if (this.#settings.url !== null) this.send('valid').catch(() => {})
    }, this.#settings.debounceMs)
  }

  // Never rejects for a failed delivery: that is counted and returned. A forged notification
  // (signed with a wrong key) is not counted: it is a test of the receiver, not a notification.
  async send (signed: 'valid' | 'forged'): Promise<WebhookDelivery> {
    const { url, appSecret } = this.#settings
    if (url === null) throw new Error('no webhook URL is configured')
    const { accountId, userId } = this.#identity
    const body = JSON.stringify({ list_folder: { accounts: [accountId] }, delta: { users: [userId] } })
    const key = signed === 'valid' ? appSecret : `forged-${appSecret}`
    const delivery = this.#deliver(url, body, signature(body, key))
    this.#inFlight.add(delivery)
    try {
      const result = await delivery
      if (signed === 'valid') {
        if (result.ok) this.#counters.webhooksDelivered++
        else this.#counters.webhookFailures++
      }
      return result
    } finally {
      this.#inFlight.delete(delivery)
    }
  }

  async #deliver (url: string, body: string, sig: string): Promise<WebhookDelivery> {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'User-Agent': 'DropboxWebhooks/1.0', 'X-Dropbox-Signature': sig },
        body,
        signal: AbortSignal.any([this.#closing.signal, AbortSignal.timeout(TIMEOUT_MS)])
      })
      await res.arrayBuffer().catch(() => {})
      if (res.ok) return { ok: true, status: res.status }
      return { ok: false, status: res.status, error: `HTTP ${res.status}` }
    } catch (error) {
      return { ok: false, error: describe(error) }
    }
  }

  async close (): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#closing.abort()
    await Promise.allSettled([...this.#inFlight])
  }
}

// fetch's own message is just "fetch failed"; the cause says why (ECONNREFUSED, timeout, ...).
function describe (error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  return error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message
}
