import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Dropbox signs each webhook notification: X-Dropbox-Signature is the hex HMAC-SHA256 of the raw
 * body, keyed with the app secret. Compared in constant time; a missing or malformed header is
 * simply not valid.
 */
export function isValidDropboxSignature (body: Buffer, signature: string | string[] | undefined, appSecret: string): boolean {
  if (typeof signature !== 'string' || !/^[0-9a-fA-F]{64}$/.test(signature)) return false
  const expected = createHmac('sha256', appSecret).update(body).digest()
  return timingSafeEqual(Buffer.from(signature, 'hex'), expected)
}
