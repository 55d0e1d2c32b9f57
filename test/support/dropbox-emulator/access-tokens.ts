import { randomBytes } from 'node:crypto'

export type TokenStatus = 'valid' | 'expired' | 'unknown'

// Short-lived access tokens as issued by /oauth2/token; expiry is enforced here, not only
// announced in expires_in, because the SDK never retries after a 401.
export class AccessTokens {
  #expiresAt = new Map<string, number>()

  issue (ttlSeconds: number): string {
    const token = `sl.u.${randomBytes(96).toString('base64url')}`
    this.#expiresAt.set(token, Date.now() + ttlSeconds * 1000)
    return token
  }

  status (token: string): TokenStatus {
    const expiresAt = this.#expiresAt.get(token)
    if (expiresAt === undefined) return 'unknown'
    return Date.now() < expiresAt ? 'valid' : 'expired'
  }

  expireAll (): void {
    for (const token of this.#expiresAt.keys()) this.#expiresAt.set(token, 0)
  }
}
