import type { FileHandle } from 'node:fs/promises'

/** The metadata of a file cannot be read: its structure is broken where metadata lives. */
export class UnreadableMetadataError extends Error {
  override name = 'UnreadableMetadataError'
}

// The first read is small (a photo's metadata is mostly in its first few KiB); later ones are
// larger, for walks that go further (a PNG's chunk headers, a JPEG's 64 KiB segments).
const FIRST_WINDOW = 16 * 1024
const WINDOW = 64 * 1024

/**
 * Positioned reads of a staged file through one cached window, so walking a structure (JPEG
 * segments, PNG chunks, ISO-BMFF boxes) costs one read per 64 KiB however small its steps.
 * Every read is asynchronous: the event loop only ever parses small buffers.
 */
export class ByteReader {
  readonly size: number
  #file: FileHandle
  #window = Buffer.alloc(0)
  #windowAt = 0

  constructor (file: FileHandle, size: number) {
    this.#file = file
    this.size = size
  }

  /** Exactly `length` bytes at `offset`; a range past the end means the structure is broken. */
  async read (offset: number, length: number): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new UnreadableMetadataError(`a structure points past the end of the file (${offset}+${length} > ${this.size})`)
    }
    const start = offset - this.#windowAt
    if (start >= 0 && start + length <= this.#window.length) return this.#window.subarray(start, start + length)
    const take = Math.min(Math.max(length, this.#window.length === 0 ? FIRST_WINDOW : WINDOW), this.size - offset)
    const buffer = Buffer.allocUnsafe(take)
    let filled = 0
    while (filled < take) {
      const { bytesRead } = await this.#file.read(buffer, filled, take - filled, offset + filled)
      if (bytesRead === 0) throw new UnreadableMetadataError('the file ended while it was read')
      filled += bytesRead
    }
    this.#window = buffer
    this.#windowAt = offset
    return buffer.subarray(0, length)
  }

  /** Tells the cache about bytes just written at `offset`, so reads after see them. */
  wrote (offset: number, bytes: Buffer): void {
    const from = Math.max(offset, this.#windowAt)
    const to = Math.min(offset + bytes.length, this.#windowAt + this.#window.length)
    if (from < to) bytes.copy(this.#window, from - this.#windowAt, from - offset, to - offset)
  }
}

/** A byte range of a file to overwrite, of the same length: no offset elsewhere moves. */
export interface Patch {
  offset: number
  bytes: Buffer
}
