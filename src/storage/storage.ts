// One interface for every place an image can end up. Workers put staged files and ask for the
// URL clients embed; the admin deletes. Every operation is idempotent so a retried job is safe.
import type { Readable } from 'node:stream'
import type { RemoteFile } from '../core/remote-file.ts'
import type { StoredFile } from '../core/stored-file.ts'

export interface FileToStore {
  stagedPath: string
  folder: string
  name: string
  size: number
  contentHash: string
}

export interface Storage {
  readonly kind: 'dropbox' | 'local'
  /**
   * Stores the staged file at /<folder>/<name>. The same content already at that name (a retry)
   * is not written again; different content keeps both, the new one renamed "name (n).ext".
   */
  put (file: FileToStore): Promise<StoredFile>
  /** Whether `stored.path` still holds exactly the bytes of `stored.contentHash`. */
  holds (stored: StoredFile): Promise<boolean>
  /** The URL a client can embed directly (Dropbox: the shared link made raw). */
  publicUrl (stored: StoredFile): Promise<string>
  /**
   * Removes a stored file, or a folder of derived files (an image's variants) with everything in
   * it; false when it was already gone.
   */
  remove (path: string): Promise<boolean>
  /**
   * Streams the bytes at `path`, or the `range` of them (both ends inclusive, within the file);
   * undefined when nothing is there. What the service's own image URLs serve.
   */
  read (path: string, range?: ByteRange): Promise<StoredBytes | undefined>
  /**
   * Writes derived bytes (an image's variant) at exactly `path`, replacing what is there: unlike
   * put, never renamed. Writing the same bytes again changes nothing a reader can see.
   */
  write (path: string, bytes: Buffer): Promise<WrittenFile>
  /** The per-file message of a successful upload. */
  successMessage (fileName: string): string
  /**
   * Resolves when storage is reachable and takes our credentials (the readiness check,
   * GET /health/ready): Dropbox answers an authenticated call, local storage's root is writable.
   * Throws a StoragePermanentError for a refusal (credentials), anything else when unreachable.
   * Every backend implements it; optional only so that test doubles need not.
   */
  checkReady? (): Promise<void>
  /** The backend's change tracking, when it has one (Dropbox): what the Dropbox sync reads. */
  readonly changes?: RemoteChanges
  close (): Promise<void>
}

/**
 * One entry of a listing or of a change set: a file as it is now, or a path that is gone (a file,
 * or a folder with everything in it). Folders themselves are left out.
 */
export type RemoteChange = { kind: 'file', file: RemoteFile } | { kind: 'deleted', pathLower: string }

export interface RemoteChangePage {
  changes: RemoteChange[]
  /** Where the next page (hasMore) or the next change set (otherwise) starts. */
  cursor: string
  hasMore: boolean
}

/**
 * Change tracking over the whole store (Dropbox's list_folder cursors): a full listing once,
 * then from its cursor only what changed since. A cursor may be refused later
 * (StorageCursorResetError): the caller lists everything again.
 */
export interface RemoteChanges {
  /** The first page of a recursive listing of every file. */
  listAll (): Promise<RemoteChangePage>
  /** The next page of a listing or of the changes since `cursor`. */
  continue (cursor: string): Promise<RemoteChangePage>
  /** The file at a path or with an id ("id:..."), as it is now; undefined when there is none. */
  lookup (pathOrId: string): Promise<RemoteFile | undefined>
}

/** Bytes `start` to `end` of a file, both included. */
export interface ByteRange {
  start: number
  end: number
}

export interface StoredBytes {
  body: Readable
  /** The whole file's size, whatever part is read. */
  size: number
  /** The part being read: what was asked for. */
  range?: ByteRange
}

export interface WrittenFile {
  path: string
  size: number
  contentHash: string
}

/** "a.jpg", 2 -> "a (2).jpg", the rename Dropbox applies on conflicts. */
export function numberedName (name: string, n: number): string {
  const dot = name.lastIndexOf('.')
  return dot > 0 ? `${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${name} (${n})`
}
