import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { DataStore, ERRORS, Upload, type KvStore } from '@tus/utils'
import type { Redis } from 'ioredis'
import type { Config, S3StagingSettings } from '../config.ts'
import type { ImageType } from '../core/image-type.ts'
import type { ExpectedChecksum } from '../core/upload-checksum.ts'
import { DirectoryBytes, S3Bytes, type ResumableBytes } from './resumable-bytes.ts'

// Resumable (tus) uploads in the staging area. While a file is being received its bytes grow in
// `<STAGING_DIR>/resumable/<upload id>` (a subdirectory: the staging sweeper leaves it alone), or
// with STAGING=s3 in the bucket (resumable-bytes.ts), and its state (length, metadata, creation
// time) is a JSON value in Redis: every API process sees both, so a client may resume through
// any of them. The offset is the bytes received, read under the upload's lock.

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
  /** STAGING=s3: the bytes go to this bucket. */
  s3?: S3StagingSettings
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
  /**
   * The size of an upload the request being served refused (not an image) and forgot: tus reads
   * it once more after its creation-with-upload hook, and must find it whole, not gone.
   */
  refusedHere?: (id: string) => number | undefined
}

/**
 * A tus DataStore with its state in Redis and its bytes in a directory or S3, the checksum
 * extension, and what the pipeline needs: an accepted upload stays known (complete, its bytes
 * gone to the pipeline), no GET of the bytes (they are served once stored, not before), no
 * deferred length (the size limit is checked at creation), and a sweep of expired uploads that
 * also removes bytes whose state was lost.
 */
export class ResumableStore extends DataStore {
  readonly #bytes: ResumableBytes
  readonly #entries: RedisEntries
  readonly #expirationMs: number
  readonly #expectedChecksum: () => ExpectedChecksum | undefined
  readonly #refusedHere: (id: string) => number | undefined

  constructor (options: ResumableStoreOptions) {
    super()
    this.#expirationMs = options.expirationMs
    this.#expectedChecksum = options.expectedChecksum ?? (() => undefined)
    this.#refusedHere = options.refusedHere ?? (() => undefined)
    // An unfinished upload's state outlives its expiry (so it answers 410, and the sweeper finds
    // its bytes); an accepted one lasts as long as an Idempotency-Key.
    this.#entries = new RedisEntries(options.redis, `${options.prefix}:resumable:`,
      entry => entry.accepted ? options.acceptedTtlMs : 2 * options.expirationMs + 60_000)
    this.#bytes = options.s3
      ? new S3Bytes(options.s3, options.stagingDir)
      : new DirectoryBytes(join(options.stagingDir, RESUMABLE_DIR), this.#entries as unknown as KvStore<Upload>)
    this.extensions = ['creation', 'creation-with-upload', 'termination', 'expiration', 'checksum']
  }

  /** The store the settings describe (API: with the hooks of the request being served; workers: to sweep). */
  static fromConfig (config: Config, redis: Redis, hooks: Pick<ResumableStoreOptions, 'expectedChecksum' | 'refusedHere'> = {}): ResumableStore {
    return new ResumableStore({
      stagingDir: config.stagingDir,
      ...(config.s3Staging ? { s3: config.s3Staging } : {}),
      redis,
      prefix: config.queuePrefix,
      expirationMs: config.upload.resumableTtlMs,
      acceptedTtlMs: config.upload.idempotencyTtlSeconds * 1000,
      ...hooks
    })
  }

  /** Closes the S3 connections (STAGING=s3). */
  close (): void {
    this.#bytes.close()
  }

  /** Bytes received so far of an upload not yet accepted; undefined: none (gone). */
  received (id: string): Promise<number | undefined> {
    return this.#bytes.received(id)
  }

  /** Puts a complete upload's bytes at `path` (in this process's staging directory); false: gone. */
  takeBytes (id: string, path: string): Promise<boolean> {
    return this.#bytes.take(id, path)
  }

  /** What is left of the bytes once they are in the pipeline (S3: the copy in the bucket). */
  releaseBytes (id: string): Promise<void> {
    return this.#bytes.remove(id)
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
    await this.#bytes.remove(id)
  }

  override async create (upload: Upload): Promise<Upload> {
    const created = await this.#bytes.create(upload)
    // FileStore keeps the state itself (in #entries, its configstore); S3Store keeps its own.
    if (!await this.#entries.get(created.id)) {
      await this.#entries.set(created.id, { id: created.id, size: created.size, offset: 0, metadata: created.metadata, creation_date: created.creation_date })
    }
    return created
  }

  override async getUpload (id: string): Promise<Upload> {
    const entry = await this.#entries.get(id)
    if (!entry) {
      const refused = this.#refusedHere(id)
      if (refused !== undefined) return new Upload({ id, size: refused, offset: refused })
      throw ERRORS.FILE_NOT_FOUND
    }
    // Complete and handed on; without a creation date tus applies no expiry to it.
    if (entry.accepted) return new Upload({ id, size: entry.size, offset: entry.size ?? 0, metadata: entry.metadata })
    const offset = await this.#bytes.received(id)
    if (offset === undefined) throw ERRORS.FILE_NO_LONGER_EXISTS
    return new Upload({ id, size: entry.size, offset, metadata: entry.metadata, creation_date: entry.creation_date })
  }

  override async write (readable: Readable, id: string, offset: number): Promise<number> {
    const entry = await this.#entries.get(id)
    if (entry?.accepted) {
      // A retried last PATCH of an upload already handed on: nothing more to write.
      readable.resume()
      return offset
    }
    return this.#bytes.write(readable, id, offset, this.#expectedChecksum())
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
   * Removes unfinished uploads older than the expiration (state and bytes), and bytes with no
   * state that are as old (their state expired from Redis or was lost). Returns how many uploads
   * were removed.
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
    for (const id of await this.#bytes.olderThan(this.#expirationMs, now)) {
      if (await this.#entries.get(id)) continue
      await this.#bytes.remove(id)
      removed++
    }
    return removed
  }
}
