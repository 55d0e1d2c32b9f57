// A few tus 1.0 requests by hand, for tests that need to control every byte and header (the
// reference client, tus-js-client, is used where a real client's behaviour is the point).

export const TUS = { 'Tus-Resumable': '1.0.0' }

/** `key base64(value)` pairs, as Upload-Metadata wants them. */
export function tusMetadata (values: Record<string, string>): string {
  return Object.entries(values).map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`).join(',')
}

export interface Creation {
  phone?: string
  filename?: string
  length: number
  headers?: Record<string, string>
  /** creation-with-upload: the first bytes (or all of them) in the POST itself. */
  body?: Buffer
}

export async function tusCreate (base: string, { phone = '1234567890', filename = 'photo.png', length, headers = {}, body }: Creation): Promise<Response> {
  const metadata: Record<string, string> = {}
  if (phone !== '') metadata.phone_number = phone
  if (filename !== '') metadata.filename = filename
  return fetch(`${base}/api/tus/`, {
    method: 'POST',
    headers: {
      ...TUS,
      'Upload-Length': String(length),
      ...(Object.keys(metadata).length > 0 ? { 'Upload-Metadata': tusMetadata(metadata) } : {}),
      ...(body ? { 'Content-Type': 'application/offset+octet-stream' } : {}),
      ...headers
    },
    body
  })
}

/** Creates an upload and returns its URL (asserting nothing: the caller checks the status). */
export async function tusCreated (base: string, creation: Creation): Promise<string> {
  const res = await tusCreate(base, creation)
  await res.arrayBuffer()
  if (res.status !== 201) throw new Error(`creation answered ${res.status}`)
  return new URL(res.headers.get('location')!).pathname
}

export async function tusPatch (url: string, offset: number, bytes: Buffer, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'PATCH',
    headers: { ...TUS, 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream', ...headers },
    body: bytes
  })
}

export async function tusOffset (url: string): Promise<{ status: number, offset: number }> {
  const res = await fetch(url, { method: 'HEAD', headers: TUS })
  return { status: res.status, offset: Number(res.headers.get('upload-offset')) }
}
