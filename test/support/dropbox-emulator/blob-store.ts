import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdtemp, open, rm, truncate, unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ContentHasher } from './content-hash.ts'

export interface ReceiveOptions {
  limit: number // bytes allowed in this call (maxUploadBytesPerCall)
  hashers: ContentHasher[]
  start?: number // write at this offset of an existing file (session append); 0 or absent creates it
  declaredLength?: number
}

export interface ReceiveResult {
  bytes: number
  tooLarge: boolean
}

// Uploaded bytes live in files under a private temp dir, streamed in and hashed on the way, so a
// 1 GiB upload never sits in memory.
export class BlobStore {
  readonly dir: string
  #sequence = 0

  constructor (dir: string) {
    this.dir = dir
  }

  static async create (): Promise<BlobStore> {
    return new BlobStore(await mkdtemp(join(tmpdir(), 'dropbox-emulator-')))
  }

  newFile (kind: 'upload' | 'session'): string {
    return join(this.dir, `${kind}-${++this.#sequence}-${randomBytes(4).toString('hex')}`)
  }

  // An over-limit body is still read to the end (and dropped) so the client gets the 409.
  async receive (source: Readable, file: string, options: ReceiveOptions): Promise<ReceiveResult> {
    let bytes = 0
    let tooLarge = (options.declaredLength ?? 0) > options.limit
    const meter = new Transform({
      transform (chunk: Buffer, _encoding, done) {
        if (!tooLarge && bytes + chunk.length > options.limit) tooLarge = true
        if (tooLarge) return done()
        bytes += chunk.length
        for (const hasher of options.hashers) hasher.update(chunk)
        done(null, chunk)
      }
    })
    const sink = options.start
      ? createWriteStream(file, { flags: 'r+', start: options.start })
      : createWriteStream(file)
    await pipeline(source, meter, sink)
    return { bytes, tooLarge }
  }

  async truncate (file: string, size: number): Promise<void> {
    await truncate(file, size)
  }

  // Fire and forget: a reader still streaming the old bytes keeps its open descriptor.
  discard (file: string): void {
    unlink(file).catch(() => {})
  }

  async flipByte (file: string, size: number): Promise<void> {
    const position = Math.floor(size / 2)
    const handle = await open(file, 'r+')
    try {
      const byte = Buffer.alloc(1)
      await handle.read(byte, 0, 1, position)
      byte[0] = (byte[0] ?? 0) ^ 0xff
      await handle.write(byte, 0, 1, position)
    } finally {
      await handle.close()
    }
  }

  async destroy (): Promise<void> {
    await rm(this.dir, { recursive: true, force: true })
  }
}
