import { createReadStream } from 'node:fs'
import { DropboxContentHasher } from '../../../src/core/content-hash.ts'

// Dropbox's content_hash. The emulator shares the service's implementation, which its own unit
// test checks against the algorithm written out plainly (test/uploads/content-hash.test.ts).
// Upload sessions hash each chunk on a copy() and keep it only if the chunk is accepted.
export { DropboxContentHasher as ContentHasher }
export const CONTENT_HASH_BLOCK_SIZE = 4 * 1024 * 1024

export function contentHash (data: Uint8Array): string {
  return new DropboxContentHasher().update(Buffer.from(data.buffer, data.byteOffset, data.byteLength)).digest()
}

export async function contentHashOfFile (path: string): Promise<string> {
  const hasher = new DropboxContentHasher()
  for await (const chunk of createReadStream(path)) hasher.update(chunk as Buffer)
  return hasher.digest()
}
