import { createHash } from 'node:crypto'
import { readdir, rm, stat, truncate } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { FileStore } from '@tus/file-store'
import { DataStore, ERRORS, Upload, type KvStore } from '@tus/utils'
import type { Redis } from 'ioredis'
import type { ImageType } from '../core/image-type.ts'
import type { ExpectedChecksum } from '../core/upload-checksum.ts'

// Resumable (tus) uploads in the staging area. While a file is being received its bytes grow in
// `<STAGING_DIR>/resumable/<upload id>` (a subdirectory: the staging sweeper leaves it alone, and
// a rename to `<STAGING_DIR>/<upload id>` stays on one filesystem), and its state (length,
// metadata, creation time) is a JSON value in Redis: every API process sees both, so a client
// may resume through any of them. The offset is the file's size, read under the upload's lock.

export const RESUMABLE_DIR = 'resumable'

/** What the last byte's arrival established, kept with the state once the file is accepted. */
export interface AcceptedBytes {
  /** When the upload was complete: the stored name's timestamp, the same on every retry. */
  receivedAt: string
  size: number
  contentHash: string
  type: ImageType
}

/** The state of one resumable upload, as kept in Redis. */
export interface ResumableEntry {
  id: string
  size?: number
  offset: number
  metadata?: Record<string, string | null>
  creation_date?: string
  /** Set once the complete file entered the upload pipeline (its bytes left the resumable area). */
  accepted?: AcceptedBytes
}

/** tus's checksum extension: the body did not match Upload-Checksum and was discarded. */
export const CHECKSUM_MISMATCH = {
  status_code: 460,
  body: 'Checksum mismatch: the request body does not match its Upload-Checksum and was discarded. Send it again.'
}

/** Upload states in Redis, each expiring on its own (FileStore's configstore interface). */
class RedisEntries implements KvStore<ResumableEntry> {
  readonly #redis: Redis
  readonly #prefix: string
  readonly #ttlMs: (entry: ResumableEntry) => number

  constructor (redis: Redis, prefix: string, ttlMs: (entry: ResumableEntry) => number) {
    this.#redis = redis
    this.#prefix = prefix
    this.#ttlMs = ttlMs
  }

  async get (id: string): Promise<ResumableEntry | undefined> {
    const value = await this.#redis.get(this.#prefix + id)
    return value === null ? undefined : JSON.parse(value) as ResumableEntry
  }

  async set (id: string, entry: ResumableEntry): Promise<void> {
    await this.#redis.set(this.#prefix + id, JSON.stringify(entry), 'PX', Math.max(1000, Math.round(this.#ttlMs(entry))))
  }

  async delete (id: string): Promise<void> {
    await this.#redis.del(this.#prefix + id)
  }

  /** The ids of every upload with a state (@tus/utils' IoRedisKvStore returns prefixed keys here). */
  async list (): Promise<string[]> {
    const ids = new Set<string>()
    let cursor = '0'
    do {
      const [next, keys] = await this.#redis.scan(cursor, 'MATCH', `${this.#prefix}*`, 'COUNT', 500)
      cursor = next
      for (const key of keys) ids.add(key.slice(this.#prefix.length))
    } while (cursor !== '0')
    return [...ids]
  }
}

export interface ResumableStoreOptions {
  stagingDir: string
  redis: Redis
  /** QUEUE_PREFIX: the states are `<prefix>:resumable:<upload id>`. */
  prefix: string
  /** RESUMABLE_UPLOAD_TTL: an upload not finished this long after its creation expires. */
  expirationMs: number
  /**
   * How long the state of an accepted upload stays (IDEMPOTENCY_TTL): a client that lost the last
   * PATCH's answer learns from HEAD that it is complete, and a retried last PATCH gets the answer.
   */
  acceptedTtlMs: number
  /** The Upload-Checksum of the request being served, if any (the HTTP layer knows it). */
  expectedChecksum?: () => ExpectedChecksum | undefined
}

/**
 * @tus/file-store's FileStore with its state in Redis, the checksum extension, and what the
 * pipeline needs: an accepted upload stays known (complete, its bytes gone to the pipeline), no
 * GET of the bytes (they are served once stored, not before), no deferred length (the size
 * limit is checked at creation), and a sweep of expired uploads that also removes bytes whose
 * state was lost.
 */
export class ResumableStore extends DataStore {
  readonly directory: string
  #fileStore: FileStore | undefined
  readonly #entries: RedisEntries
  readonly #expirationMs: number
  readonly #expectedChecksum: () => ExpectedChecksum | undefined

  constructor (options: ResumableStoreOptions) {
    super()
    this.directory = join(options.stagingDir, RESUMABLE_DIR)
    this.#expirationMs = options.expirationMs
    this.#expectedChecksum = options.expectedChecksum ?? (() => undefined)
    // An unfinished upload's state outlives its expiry (so it answers 410, and the sweeper finds
    // its bytes); an accepted one lasts as long as an Idempotency-Key.
    this.#entries = new RedisEntries(options.redis, `${options.prefix}:resumable:`,
      entry => entry.accepted ? options.acceptedTtlMs : 2 * options.expirationMs + 60_000)
    this.extensions = ['creation', 'creation-with-upload', 'termination', 'expiration', 'checksum']
  }

  /**
   * Made on first use: FileStore creates its directory at once, and a process that never
   * receives a resumable upload (a worker, which only sweeps) leaves the staging area as it is.
   */
  get #files (): FileStore {
    this.#fileStore ??= new FileStore({ directory: this.directory, configstore: this.#entries as unknown as KvStore<Upload>, expirationPeriodInMilliseconds: this.#expirationMs })
    return this.#fileStore
  }

  /** Where the bytes of an upload grow until it is complete. */
  partialPath (id: string): string {
    return join(this.directory, id)
  }

  async entry (id: string): Promise<ResumableEntry | undefined> {
    return this.#entries.get(id)
  }

  /** Records that the complete file entered the pipeline (before its bytes leave this area). */
  async markAccepted (entry: ResumableEntry, accepted: AcceptedBytes): Promise<void> {
    await this.#entries.set(entry.id, { ...entry, accepted })
  }

  /** Removes an upload's state, then its bytes (a crash between the two leaves bytes the sweep removes). */
  async forget (id: string): Promise<void> {
    await this.#entries.delete(id)
    await rm(this.partialPath(id), { force: true })
  }

  override async create (upload: Upload): Promise<Upload> {
    return this.#files.create(upload)
  }

  override async getUpload (id: string): Promise<Upload> {
    const entry = await this.#entries.get(id)
    if (!entry) throw ERRORS.FILE_NOT_FOUND
    // Complete and handed on; without a creation date tus applies no expiry to it.
    if (entry.accepted) return new Upload({ id, size: entry.size, offset: entry.size ?? 0, metadata: entry.metadata })
    const info = await stat(this.partialPath(id)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw ERRORS.FILE_NO_LONGER_EXISTS
      throw err
    })
    return new Upload({ id, size: entry.size, offset: info.size, metadata: entry.metadata, creation_date: entry.creation_date })
  }

  override async write (readable: Readable, id: string, offset: number): Promise<number> {
    const entry = await this.#entries.get(id)
    if (entry?.accepted) {
      // A retried last PATCH of an upload already handed on: nothing more to write.
      readable.resume()
      return offset
    }
    const expected = this.#expectedChecksum()
    if (!expected) return this.#files.write(readable, id, offset)
    const hash = createHash(expected.algorithm)
    const hashing = new Transform({
      transform (chunk: Buffer, _encoding, callback) {
        hash.update(chunk)
        callback(null, chunk)
      }
    })
    readable.once('error', err => hashing.destroy(err))
    const end = await this.#files.write(readable.pipe(hashing), id, offset)
    if (!hash.digest().equals(expected.digest)) {
      // Under the upload's lock: the offset goes back to where this request found it.
      await truncate(this.partialPath(id), offset)
      throw CHECKSUM_MISMATCH
    }
    return end
  }

  override async remove (id: string): Promise<void> {
    if (!await this.#entries.get(id)) throw ERRORS.FILE_NOT_FOUND
    await this.forget(id)
  }

  override async declareUploadLength (): Promise<void> {
    throw ERRORS.UNSUPPORTED_CREATION_DEFER_LENGTH_EXTENSION
  }

  override getExpiration (): number {
    return this.#expirationMs
  }

  /**
   * Removes unfinished uploads older than the expiration (state and bytes), and bytes in the
   * resumable area with no state that are as old (their state expired from Redis or was lost).
   * Returns how many uploads were removed.
   */
  override async deleteExpired (now = Date.now()): Promise<number> {
    let removed = 0
    for (const id of await this.#entries.list()) {
      const entry = await this.#entries.get(id)
      if (!entry || entry.accepted || entry.creation_date === undefined) continue
      if (now - new Date(entry.creation_date).getTime() <= this.#expirationMs) continue
      await this.forget(id)
      removed++
    }
    for (const name of await readdir(this.directory).catch(() => [])) {
      const info = await stat(join(this.directory, name)).catch(() => undefined)
      if (!info?.isFile() || now - info.mtimeMs <= this.#expirationMs) continue
      if (await this.#entries.get(name)) continue
      await rm(join(this.directory, name), { force: true })
      removed++
    }
    return removed
  }
}
