import { createHash, randomBytes } from 'node:crypto'

// API keys identify a client app (a build of it), not a person. Shared by the CLI that makes
// them, the API that checks them and the admin panel that lists and revokes them.

/** Recognisable in logs, in a leaked config file or by a secret scanner. */
export const API_KEY_PREFIX = 'iuk_'
/** 32 random bytes: far beyond guessing, so a fast hash is the right way to store them. */
const KEY_BYTES = 32
const API_KEY = /^iuk_[A-Za-z0-9_-]{43}$/

export const API_KEY_NAME_RULE = 'A key name is 1 to 64 letters, digits, dots, dashes and underscores, starting with a letter or digit (e.g. ios-app).'
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/

export function newApiKey (): string {
  return API_KEY_PREFIX + randomBytes(KEY_BYTES).toString('base64url')
}

/** What is stored and looked up: SHA-256 of the key, hex. */
export function apiKeyHash (key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

/** Whether a presented string can be a key at all (a refusal that costs no lookup). */
export function isApiKeyShaped (value: string): boolean {
  return API_KEY.test(value)
}

/** Names are case-insensitive: `iOS-App` and `ios-app` are the same key name. */
export function normalizeApiKeyName (raw: string): string | undefined {
  const name = raw.trim().toLowerCase()
  return NAME.test(name) ? name : undefined
}
