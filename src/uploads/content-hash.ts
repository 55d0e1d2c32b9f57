import { createHash, type Hash } from 'node:crypto'

const BLOCK_SIZE = 4 * 1024 * 1024

/**
 * Dropbox's content_hash, computed incrementally: SHA-256 of each 4 MiB block, then SHA-256 of
 * the concatenated block digests, hex-encoded. Comparing it with the hash Dropbox returns proves
 * the stored bytes are the bytes we staged.
 */
export class DropboxContentHasher {
  #overall = createHash('sha256')
  #block: Hash = createHash('sha256')
  #blockFill = 0

  update (chunk: Buffer): this {
    let offset = 0
    while (offset < chunk.length) {
      const take = Math.min(BLOCK_SIZE - this.#blockFill, chunk.length - offset)
      this.#block.update(chunk.subarray(offset, offset + take))
      this.#blockFill += take
      offset += take
      if (this.#blockFill === BLOCK_SIZE) this.#finishBlock()
    }
    return this
  }

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
