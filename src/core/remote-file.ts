// A file as a storage backend with change tracking lists it (Dropbox's FileMetadata). The Dropbox
// sync notes such files between runs (the queue layer's state), so it belongs to the domain.
export interface RemoteFile {
  /** The backend's id, stable across renames and moves. */
  id: string
  /** As displayed, e.g. "/1234567890/photo.jpg"; compare paths by pathLower. */
  path: string
  pathLower: string
  name: string
  size: number
  contentHash: string
  /** When the backend last stored the file's content. */
  serverModified: Date
}
