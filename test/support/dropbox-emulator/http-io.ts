import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { finished } from 'node:stream/promises'

// Reads and discards a body nobody consumed, so a client still uploading gets our answer rather
// than a reset connection.
export async function drain (req: IncomingMessage): Promise<void> {
  if (req.readableEnded || req.destroyed) return
  req.resume()
  await finished(req).catch(() => {})
}

export class BodyTooLarge extends Error {}

export async function readBody (req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit) {
      await drain(req)
      throw new BodyTooLarge(`request body larger than ${limit} bytes`)
    }
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

// JSON that fits in an HTTP header: 0x7F and everything above written as \uXXXX (what the SDK
// does for Dropbox-API-Arg, and Dropbox for Dropbox-API-Result).
export function headerSafeJson (value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

export function sendJson (res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  const payload = JSON.stringify(body)
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) })
  res.end(payload)
}

export function sendText (res: ServerResponse, status: number, text: string, headers: OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers, 'Content-Length': Buffer.byteLength(text) })
  res.end(text)
}

export function contentTypeOf (req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').trim()
}

export function mediaType (contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase()
}
