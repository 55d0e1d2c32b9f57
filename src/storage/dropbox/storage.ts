import { createReadStream } from 'node:fs'
import { Readable, Transform } from 'node:stream'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import type { files, sharing } from 'dropbox'
import type { DropboxSettings } from '../../config.ts'
import { DropboxContentHasher } from '../../core/content-hash.ts'
import type { StoredFile } from '../../core/stored-file.ts'
import type { ByteRange, FileToStore, Storage, StoredBytes, WrittenFile } from '../storage.ts'
import { DropboxChanges } from './changes.ts'
import { DropboxClient } from './client.ts'
import { CommitBatcher, type CommitLock } from './commit-batcher.ts'
import { DropboxPermanentError, DropboxTransientError, errorRootTag } from './errors.ts'
import { toRawUrl } from './raw-url.ts'

export interface DropboxStorageOptions {
  /** 'batch': session uploads and grouped commits (fast under contention); 'single': one files/upload per file. */
  strategy: 'batch' | 'single'
  /** Files above this size go up in chunks of chunkBytes. */
  chunkThresholdBytes: number
  chunkBytes: number
  batchMaxEntries: number
  batchWindowMs: number
  commitLock: CommitLock
  onRateLimited: (retryAfterMs: number, reason: string) => void
  onBatchCommitted: (entries: number) => void
}

const bytesOf = (path: string, start: number, size: number) =>
  createReadStream(path, { start, end: start + size - 1 })

/** Images in Dropbox under /<phone number>/<file name>, shared through raw links. */
export class DropboxStorage implements Storage {
  readonly kind = 'dropbox'
  readonly client: DropboxClient
  readonly changes: DropboxChanges
  readonly #options: DropboxStorageOptions
  readonly #batcher: CommitBatcher

  constructor (settings: DropboxSettings, options: DropboxStorageOptions) {
    this.client = new DropboxClient(settings)
    this.changes = new DropboxChanges(this.client)
    this.#options = options
    this.#batcher = new CommitBatcher(this.client, options.commitLock, {
      maxEntries: options.batchMaxEntries,
      windowMs: options.batchWindowMs,
      onRateLimited: options.onRateLimited,
      onBatchCommitted: options.onBatchCommitted
    })
  }

  async put (file: FileToStore): Promise<StoredFile> {
    // "add" + autorename: the same bytes already there (a retry) are not written again, and a
    // different file of the same name is kept, this one becoming "name (1).ext".
    const commit: files.CommitInfo = { path: `/${file.folder}/${file.name}`, mode: { '.tag': 'add' }, autorename: true, mute: true }
    const metadata = await this.#upload(file, commit)

    if (metadata.content_hash !== file.contentHash) {
      // The stored bytes are not the staged bytes: remove them so no record can point at them,
      // and let the job upload again.
      await this.remove(metadata.path_display ?? commit.path).catch(() => {})
      throw new DropboxTransientError(`content hash mismatch for ${commit.path}: stored ${metadata.content_hash}, staged ${file.contentHash}`)
    }
    return { path: metadata.path_display ?? commit.path, name: metadata.name, size: metadata.size, contentHash: file.contentHash, id: metadata.id }
  }

  async #upload (file: FileToStore, commit: files.CommitInfo): Promise<files.FileMetadata> {
    if (file.size > this.#options.chunkThresholdBytes) return this.#commitSession(await this.#uploadChunks(file), file.size, commit)
    if (this.#options.strategy === 'single') return this.#uploadOnce(file, commit)
    return this.#commitSession(await this.#uploadWhole(file), file.size, commit)
  }

  /** The naive way: one files/upload per file, each a commit of its own. */
  #uploadOnce (file: FileToStore, commit: files.CommitInfo): Promise<files.FileMetadata> {
    return this.client.call(sdk => sdk.filesUpload({ ...commit, content_hash: file.contentHash, contents: bytesOf(file.stagedPath, 0, file.size) }))
  }

  /** Sends a whole (small) file in one closed session: bytes only, no commit, no write lock. */
  async #uploadWhole (file: FileToStore): Promise<string> {
    const { session_id: sessionId } = await this.client.call(sdk => sdk.filesUploadSessionStart({
      close: true, content_hash: file.contentHash, contents: bytesOf(file.stagedPath, 0, file.size)
    }))
    return sessionId
  }

  /** Streams a large file in chunks; memory stays flat whatever the size. */
  async #uploadChunks (file: FileToStore): Promise<string> {
    const chunk = this.#options.chunkBytes
    const first = Math.min(chunk, file.size)
    const { session_id: sessionId } = await this.client.call(sdk => sdk.filesUploadSessionStart({
      close: first === file.size, contents: bytesOf(file.stagedPath, 0, first)
    }))
    for (let offset = first; offset < file.size; offset += chunk) {
      const length = Math.min(chunk, file.size - offset)
      await this.client.call(sdk => sdk.filesUploadSessionAppendV2({
        cursor: { session_id: sessionId, offset },
        close: offset + length === file.size,
        contents: bytesOf(file.stagedPath, offset, length)
      }))
    }
    return sessionId
  }

  #commitSession (sessionId: string, size: number, commit: files.CommitInfo): Promise<files.FileMetadata> {
    return this.#batcher.commit({ cursor: { session_id: sessionId, offset: size }, commit })
  }

  async holds (stored: StoredFile): Promise<boolean> {
    try {
      const metadata = await this.client.call(sdk => sdk.filesGetMetadata({ path: stored.path }))
      return metadata['.tag'] === 'file' && metadata.content_hash === stored.contentHash
    } catch (err) {
      if (err instanceof DropboxPermanentError && err.tag?.startsWith('path/not_found')) return false
      throw err
    }
  }

  async publicUrl (stored: StoredFile): Promise<string> {
    return toRawUrl(await this.#sharedLink(stored.path))
  }

  /** Creates the file's shared link, or finds the one that already exists. */
  async #sharedLink (path: string): Promise<string> {
    try {
      const link = await this.client.call(sdk => sdk.sharingCreateSharedLinkWithSettings({ path }))
      return link.url
    } catch (err) {
      if (!(err instanceof DropboxPermanentError) || err.tag?.split('/')[0] !== 'shared_link_already_exists') throw err
      const existing = existingLink(err.cause)
      if (existing) return existing
    }
    const { links } = await this.client.call(sdk => sdk.sharingListSharedLinks({ path, direct_only: true }))
    const url = links[0]?.url
    if (!url) throw new DropboxTransientError(`Dropbox reported a shared link for ${path} but listed none`)
    return url
  }

  async remove (path: string): Promise<boolean> {
    try {
      await this.client.call(sdk => sdk.filesDeleteV2({ path }))
      return true
    } catch (err) {
      if (err instanceof DropboxPermanentError && err.tag?.startsWith('path_lookup/not_found')) return false
      throw err
    }
  }

  async read (path: string, range?: ByteRange): Promise<StoredBytes | undefined> {
    let res
    try {
      res = await this.client.download(path, range)
    } catch (err) {
      // A folder, or nothing at all, at the path.
      if (err instanceof DropboxPermanentError && /^path\/(not_found|not_file)/.test(err.tag ?? '')) return undefined
      throw err
    }
    const metadata = JSON.parse(res.headers.get('dropbox-api-result') ?? '{}') as Partial<files.FileMetadata>
    const size = metadata.size ?? Number(res.headers.get('content-length'))
    const body = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>)
    if (!range) return { body, size }
    // Dropbox answers a Range with 206; should it send the whole file instead, cut it here.
    return { body: res.status === 206 ? body : body.pipe(byteSlice(range)), size, range }
  }

  async write (path: string, bytes: Buffer): Promise<WrittenFile> {
    const contentHash = new DropboxContentHasher().update(bytes).digest()
    const { session_id: sessionId } = await this.client.call(sdk => sdk.filesUploadSessionStart({ close: true, content_hash: contentHash, contents: bytes }))
    // Committed with the uploads (one commit at a time per account); "overwrite" replaces the
    // rendering an earlier run made, and identical bytes make no new revision.
    const metadata = await this.#batcher.commit({
      cursor: { session_id: sessionId, offset: bytes.length },
      commit: { path, mode: { '.tag': 'overwrite' }, autorename: false, mute: true }
    })
    if (metadata.content_hash !== contentHash) throw new DropboxTransientError(`content hash mismatch for ${path}: stored ${metadata.content_hash}, sent ${contentHash}`)
    return { path: metadata.path_display ?? path, size: metadata.size, contentHash }
  }

  successMessage (fileName: string): string {
    return `File '${fileName}' uploaded successfully to Dropbox`
  }

  async checkReady (): Promise<void> {
    // The cheapest authenticated call (the account_info.read scope every app has): it refreshes
    // the token when needed, so refused credentials show here, as a DropboxPermanentError.
    await this.client.call(sdk => sdk.usersGetCurrentAccount())
  }

  async close (): Promise<void> {}
}

/** The link inside a shared_link_already_exists error, when Dropbox included it. */
function existingLink (cause: unknown): string | undefined {
  if (errorRootTag(cause) !== 'shared_link_already_exists') return undefined
  const body = (cause as { error: { error: sharing.CreateSharedLinkWithSettingsError } }).error.error
  const inner = (body as { shared_link_already_exists?: { '.tag': string, metadata?: sharing.SharedLinkMetadata } }).shared_link_already_exists
  return inner?.['.tag'] === 'metadata' ? inner.metadata?.url : undefined
}

/** Passes on bytes `range.start` to `range.end` (both included) of what flows through. */
function byteSlice (range: ByteRange): Transform {
  let offset = 0
  return new Transform({
    transform (chunk: Buffer, _encoding, done) {
      const from = Math.max(range.start - offset, 0)
      const to = Math.min(range.end + 1 - offset, chunk.length)
      offset += chunk.length
      done(null, from < to ? chunk.subarray(from, to) : undefined)
    }
  })
}
