// Where a storage backend put a file. Job data carries it (a retry finds a renamed file where it
// went), so it belongs to the domain, not to any backend.
export interface StoredFile {
  /** Where the file lives in this storage, e.g. "/1234567890/2024-12-17_12:30:45_a.jpg". */
  path: string
  /** Final name: the requested one, or "name (1).jpg" when another file already held it. */
  name: string
  size: number
  contentHash: string
  /** The backend's own id of the file, stable across renames and moves (Dropbox's "id:..."), when it has one. */
  id?: string
}
