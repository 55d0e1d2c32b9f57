import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { readdir, rename, rm, stat, truncate } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { AbortMultipartUploadCommand, DeleteObjectsCommand, ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3'
import { FileStore } from '@tus/file-store'
import { S3Store } from '@tus/s3-store'
import { ERRORS, type KvStore, type Upload } from '@tus/utils'
import type { S3StagingSettings } from '../config.ts'
import type { ExpectedChecksum } from '../core/upload-checksum.ts'
import { newUploadId } from '../core/upload-id.ts'
import { downloadObject, isNotFound, s3Client, s3ClientConfig, StagingUnavailableError } from './s3-staging.ts'
import { PARTIAL_SUFFIX } from './staged-files.ts'

// Where the bytes of a resumable (tus) upload grow until it is complete: a directory every API
// process reaches (@tus/file-store), or an S3 bucket (@tus/s3-store), so that a client may
// resume through any API process. The state (length, metadata) is kept apart, in Redis
// (resumable-store.ts); these hold bytes only.

/** tus's checksum extension: the body did not match Upload-Checksum and was discarded. */
export const CHECKSUM_MISMATCH = {
  status_code: 460,
  body: 'Checksum mismatch: the request body does not match its Upload-Checksum and was discarded. Send it again.'
}

export interface ResumableBytes {
  /** Starts an upload's bytes; the returned upload is the state to keep. */
  create: (upload: Upload) => Promise<Upload>
  /** Appends a PATCH body at `offset`; with `expected`, a body that does not match is discarded (CHECKSUM_MISMATCH). */
  write: (readable: Readable, id: string, offset: number, expected: ExpectedChecksum | undefined) => Promise<number>
  /** Bytes received so far; undefined when there are none (never created, or removed). */
  received: (id: string) => Promise<number | undefined>
  /** Puts a complete upload's bytes at `path` (this process's staging directory); false: they are gone. */
  take: (id: string, path: string) => Promise<boolean>
  /** Removes whatever is left of an upload's bytes. */
  remove: (id: string) => Promise<void>
  /** Ids of uploads whose bytes are older than `ageMs`, for the sweep of bytes whose state is gone. */
  olderThan: (ageMs: number, now: number) => Promise<string[]>
  close: () => void
}

/** The bytes in `<STAGING_DIR>/resumable/<id>`: a rename to `<STAGING_DIR>/<id>` stays on one filesystem. */
export class DirectoryBytes implements ResumableBytes {
  readonly directory: string
  readonly #configstore: KvStore<Upload>
  #store: FileStore | undefined

  constructor (directory: string, configstore: KvStore<Upload>) {
    this.directory = directory
    this.#configstore = configstore
  }

  /**
   * Made on first use: FileStore creates its directory at once, and a process that never
   * receives a resumable upload (a worker, which only sweeps) leaves the staging area as it is.
   */
  get #files (): FileStore {
    this.#store ??= new FileStore({ directory: this.directory, configstore: this.#configstore })
    return this.#store
  }

  #path (id: string): string {
    return join(this.directory, id)
  }

  create (upload: Upload): Promise<Upload> {
    return this.#files.create(upload)
  }

  async write (readable: Readable, id: string, offset: number, expected: ExpectedChecksum | undefined): Promise<number> {
    if (!expected) return this.#files.write(readable, id, offset)
    const hash = createHash(expected.algorithm)
    const end = await this.#files.write(hashed(readable, hash), id, offset)
    if (!hash.digest().equals(expected.digest)) {
      // Under the upload's lock: the offset goes back to where this request found it.
      await truncate(this.#path(id), offset)
      throw CHECKSUM_MISMATCH
    }
    return end
  }

  async received (id: string): Promise<number | undefined> {
    return (await stat(this.#path(id)).catch(() => undefined))?.size
  }

  async take (id: string, path: string): Promise<boolean> {
    return rename(this.#path(id), path).then(() => true, (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false
      throw err
    })
  }

  async remove (id: string): Promise<void> {
    await rm(this.#path(id), { force: true })
  }

  close (): void {}

  async olderThan (ageMs: number, now: number): Promise<string[]> {
    const ids: string[] = []
    for (const name of await readdir(this.directory).catch(() => [])) {
      const info = await stat(this.#path(name)).catch(() => undefined)
      if (info?.isFile() && now - info.mtimeMs > ageMs) ids.push(name)
    }
    return ids
  }
}

/**
 * STAGING=s3: @tus/s3-store's multipart uploads, at the bucket's top level (`<id>`, `<id>.info`,
 * `<id>.part`: the store takes no key prefix; S3_PREFIX keeps the accepted files apart). A body
 * with Upload-Checksum is spooled to `spoolDir` and checked before any of it is sent: parts in
 * S3 cannot be taken back.
 */
export class S3Bytes implements ResumableBytes {
  readonly #store: S3Store
  readonly #client: S3Client
  readonly #bucket: string
  readonly #spoolDir: string

  constructor (settings: S3StagingSettings, spoolDir: string) {
    this.#client = s3Client(settings)
    this.#bucket = settings.bucket
    this.#spoolDir = spoolDir
    this.#store = new S3Store({
      s3ClientConfig: { bucket: settings.bucket, ...s3ClientConfig(settings) },
      // Expiry is ours (resumable-store.ts), from the state in Redis: no object tags needed.
      useTags: false
    })
  }

  create (upload: Upload): Promise<Upload> {
    return whenReachable(() => this.#store.create(upload))
  }

  close (): void {
    this.#client.destroy()
  }

  write (readable: Readable, id: string, offset: number, expected: ExpectedChecksum | undefined): Promise<number> {
    return whenReachable(() => this.#write(readable, id, offset, expected))
  }

  async #write (readable: Readable, id: string, offset: number, expected: ExpectedChecksum | undefined): Promise<number> {
    if (!expected) return this.#store.write(readable, id, offset)
    const spool = join(this.#spoolDir, `tus-${newUploadId()}${PARTIAL_SUFFIX}`)
    try {
      const hash = createHash(expected.algorithm)
      await pipeline(hashed(readable, hash), createWriteStream(spool))
      if (!hash.digest().equals(expected.digest)) throw CHECKSUM_MISMATCH
      return await this.#store.write(createReadStream(spool), id, offset)
    } finally {
      await rm(spool, { force: true })
    }
  }

  async received (id: string): Promise<number | undefined> {
    try {
      return (await this.#store.getUpload(id)).offset
    } catch (err) {
      if (err === ERRORS.FILE_NOT_FOUND || isNotFound(err)) return undefined
      throw err
    }
  }

  take (id: string, path: string): Promise<boolean> {
    return downloadObject(this.#client, this.#bucket, id, path)
  }

  async remove (id: string): Promise<void> {
    // An unfinished upload's parts, then every object it may have.
    const { Uploads } = await this.#client.send(new ListMultipartUploadsCommand({ Bucket: this.#bucket, Prefix: id }))
    for (const upload of Uploads ?? []) {
      if (upload.Key !== id) continue
      await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: id, UploadId: upload.UploadId })).catch((err: unknown) => {
        if (!isNotFound(err)) throw err
      })
    }
    await this.#client.send(new DeleteObjectsCommand({ Bucket: this.#bucket, Delete: { Objects: [id, `${id}.info`, `${id}.part`].map(Key => ({ Key })), Quiet: true } }))
  }

  async olderThan (ageMs: number, now: number): Promise<string[]> {
    const ids = new Set<string>()
    let token: string | undefined
    do {
      // The top level only: the accepted files live under S3_PREFIX.
      const page = await this.#client.send(new ListObjectsV2Command({ Bucket: this.#bucket, Delimiter: '/', ContinuationToken: token }))
      for (const object of page.Contents ?? []) {
        if (now - (object.LastModified?.getTime() ?? now) > ageMs) ids.add(object.Key!.replace(/\.(info|part)$/, ''))
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined
    } while (token !== undefined)
    return [...ids]
  }
}

/**
 * S3 failing (unreachable, refusing) is the service unavailable, a 503 the client retries; tus's
 * own answers (no such upload, a checksum mismatch) are not Errors and pass as they are.
 */
async function whenReachable<T> (work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (err) {
    if (err instanceof Error && !(err instanceof StagingUnavailableError)) throw new StagingUnavailableError(`S3 staging: ${err.message}`, { cause: err })
    throw err
  }
}

/** The readable, passing through `hash` on its way. */
function hashed (readable: Readable, hash: ReturnType<typeof createHash>): Readable {
  const hashing = new Transform({
    transform (chunk: Buffer, _encoding, callback) {
      hash.update(chunk)
      callback(null, chunk)
    }
  })
  readable.once('error', err => hashing.destroy(err))
  return readable.pipe(hashing)
}
