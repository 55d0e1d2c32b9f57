import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'

// Dropbox's content_hash: SHA-256 of every 4 MiB block, then SHA-256 of the concatenated binary
// block digests, hex-encoded.
export const CONTENT_HASH_BLOCK_SIZE = 4 * 1024 * 1024

// Streaming form, so bytes never have to be held whole. copy() forks the state: upload sessions
// hash each chunk on a fork and keep it only if the chunk is accepted.
export class ContentHasher {
  #overall: Hash = createHash('sha256')
  #block: Hash = createHash('sha256')
  #blockFill = 0

  update (data: Uint8Array): this {
    let offset = 0
    while (offset < data.length) {
      const take = Math.min(data.length - offset, CONTENT_HASH_BLOCK_SIZE - this.#blockFill)
      this.#block.update(data.subarray(offset, offset + take))
      this.#blockFill += take
      offset += take
      if (this.#blockFill === CONTENT_HASH_BLOCK_SIZE) this.#finishBlock()
    }
    return this
  }

  copy (): ContentHasher {
    const fork = new ContentHasher()
    fork.#overall = this.#overall.copy()
    fork.#block = this.#block.copy()
    fork.#blockFill = this.#blockFill
    return fork
  }

  // Ends this hasher; copy() first to keep feeding it.
  digest (): string {
    if (this.#blockFill > 0) this.#finishBlock()
    return this.#overall.digest('hex')
  }

  #finishBlock (): void {
    this.#overall.update(this.#block.digest())
    this.#block = createHash('sha256')
    this.#blockFill = 0
  }
}

export function contentHash (data: Uint8Array): string {
  return new ContentHasher().update(data).digest()
}

export async function contentHashOfFile (path: string): Promise<string> {
  const hasher = new ContentHasher()
  for await (const chunk of createReadStream(path)) hasher.update(chunk as Buffer)
  return hasher.digest()
}
