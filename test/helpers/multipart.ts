import { randomBytes } from 'node:crypto'

export type Part =
  | { name: string, value: string }
  | { name: string, filename: string, content: Buffer, contentType?: string }

/**
 * A multipart/form-data body built byte by byte, so tests can send what real clients send,
 * including names a browser's FormData would refuse or escape.
 */
export function multipart (parts: Part[]): { payload: Buffer, headers: Record<string, string> } {
  const boundary = `----test${randomBytes(8).toString('hex')}`
  const chunks: Buffer[] = []
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`
    if ('filename' in part) {
      head += `; filename="${part.filename}"\r\nContent-Type: ${part.contentType ?? 'application/octet-stream'}`
    }
    chunks.push(Buffer.from(`${head}\r\n\r\n`, 'utf8'), 'filename' in part ? part.content : Buffer.from(part.value), Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }
}

/** The usual request: a phone number and some files under `images`. */
export function uploadForm (phoneNumber: string, files: Array<{ filename: string, content: Buffer }>): { payload: Buffer, headers: Record<string, string> } {
  return multipart([{ name: 'phone_number', value: phoneNumber }, ...files.map(f => ({ name: 'images', ...f, contentType: 'image/png' }))])
}
