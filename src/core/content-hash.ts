import { createHash, type Hash } from 'node:crypto'

const BLOCK_SIZE = 4 * 1024 * 1024

/**
 * Dropbox's content_hash, computed incrementally: SHA-256 of each 4 MiB block, then SHA-256 of
 * the concatenated block digests, hex-encoded. Comparing it with the hash Dropbox returns proves
 * the stored bytes are the bytes we staged.
 */
export class DropboxContentHasher {
  #overall: Hash = createHash('sha256')
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

  /** A fork with the same state, for a caller that may still discard what it feeds next. */
  copy (): DropboxContentHasher {
    const fork = new DropboxContentHasher()
    fork.#overall = this.#overall.copy()
    fork.#block = this.#block.copy()
    fork.#blockFill = this.#blockFill
    return fork
  }

  /** Ends this hasher; copy() first to keep feeding it. */
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
