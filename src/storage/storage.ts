// One interface for every place an image can end up. Workers put staged files and ask for the
// URL clients embed; the admin deletes. Every operation is idempotent so a retried job is safe.
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
  /** Removes a stored file; false when it was already gone. */
  remove (path: string): Promise<boolean>
  /** The per-file message of a successful upload. */
  successMessage (fileName: string): string
  close (): Promise<void>
}

/** "a.jpg", 2 -> "a (2).jpg", the rename Dropbox applies on conflicts. */
export function numberedName (name: string, n: number): string {
  const dot = name.lastIndexOf('.')
  return dot > 0 ? `${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${name} (${n})`
}
