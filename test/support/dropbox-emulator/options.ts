import type { EmulatorOptions, Faults, WebhookSettings } from './types.ts'

export const MiB = 1024 * 1024

export const DEFAULT_FAULTS: Readonly<Faults> = Object.freeze({
  latencyMs: 0,
  tokenTtlSeconds: 14400,
  rateLimit: null,
  writeContention: null,
  serverErrors: null,
  batchEntryFailures: 0,
  corruptNextUploads: 0,
  maxUploadBytesPerCall: 150 * MiB,
  sharedLinkExistsWithoutMetadata: false
})

export function resolveOptions (options: Partial<EmulatorOptions> = {}): EmulatorOptions {
  return {
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    appKey: options.appKey ?? 'test-key',
    appSecret: options.appSecret ?? 'test-secret',
    refreshToken: options.refreshToken ?? 'test-refresh-token',
    accountId: options.accountId ?? 'dbid:AAEmulatorTestAccount0000000000000000000',
    userId: options.userId ?? 12345678,
    faults: options.faults ?? {},
    webhook: options.webhook ?? {}
  }
}

export const DEFAULT_WEBHOOK_DEBOUNCE_MS = 50

export function webhookDefaults (options: EmulatorOptions): WebhookSettings {
  return { url: null, appSecret: options.appSecret, debounceMs: DEFAULT_WEBHOOK_DEBOUNCE_MS }
}

// Like mergeFaults: the settings also arrive as JSON over the control route.
export function mergeWebhook (current: WebhookSettings, patch: unknown): WebhookSettings {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new TypeError('webhook settings must be an object')
  }
  const next: WebhookSettings = { ...current }
  for (const [key, value] of Object.entries(patch)) {
    switch (key) {
      case 'url':
        if (value !== null && (typeof value !== 'string' || !URL.canParse(value))) throw new TypeError('url must be a URL or null')
        next.url = value as string | null
        break
      case 'appSecret':
        if (typeof value !== 'string' || value === '') throw new TypeError('appSecret must be a non-empty string')
        next.appSecret = value
        break
      case 'debounceMs':
        next.debounceMs = count(key, value)
        break
      default:
        throw new TypeError(`unknown webhook setting '${key}'`)
    }
  }
  return next
}

// Faults also arrive as JSON from the benchmark process, so a typo must fail loudly, not be ignored.
export function mergeFaults (current: Faults, patch: unknown): Faults {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new TypeError('faults must be an object')
  }
  const next: Faults = { ...current }
  for (const [key, value] of Object.entries(patch)) {
    switch (key) {
      case 'latencyMs':
      case 'tokenTtlSeconds':
      case 'batchEntryFailures':
      case 'corruptNextUploads':
      case 'maxUploadBytesPerCall':
        next[key] = count(key, value)
        break
      case 'sharedLinkExistsWithoutMetadata':
        if (typeof value !== 'boolean') throw new TypeError(`${key} must be a boolean`)
        next[key] = value
        break
      case 'rateLimit':
        next.rateLimit = value === null
          ? null
          : {
              requestsPerSecond: positive(`${key}.requestsPerSecond`, field(value, 'requestsPerSecond')),
              retryAfterSeconds: count(`${key}.retryAfterSeconds`, field(value, 'retryAfterSeconds') ?? 1)
            }
        break
      case 'writeContention':
        next.writeContention = value === null
          ? null
          : {
              maxConcurrentCommits: count(`${key}.maxConcurrentCommits`, field(value, 'maxConcurrentCommits')),
              retryAfterSeconds: count(`${key}.retryAfterSeconds`, field(value, 'retryAfterSeconds') ?? 1)
            }
        break
      case 'serverErrors': {
        if (value === null) {
          next.serverErrors = null
          break
        }
        const status = field(value, 'status') ?? 500
        if (status !== 500 && status !== 503) throw new TypeError(`${key}.status must be 500 or 503`)
        next.serverErrors = { remaining: count(`${key}.remaining`, field(value, 'remaining')), status }
        break
      }
      default:
        throw new TypeError(`unknown fault '${key}'`)
    }
  }
  return next
}

function field (value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null) throw new TypeError(`expected an object with '${key}'`)
  return (value as Record<string, unknown>)[key]
}

function count (name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new TypeError(`${name} must be a non-negative integer`)
  }
  return value
}

function positive (name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`${name} must be a positive number`)
  }
  return value
}
