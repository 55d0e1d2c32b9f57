import type { files } from 'dropbox'
import type { RemoteFile } from '../../core/remote-file.ts'
import { StorageCursorResetError } from '../errors.ts'
import type { RemoteChange, RemoteChangePage, RemoteChanges } from '../storage.ts'
import type { DropboxClient } from './client.ts'
import { DropboxPermanentError } from './errors.ts'

/** Dropbox's largest page (list_folder's `limit` is at most 2,000). */
export const LIST_PAGE_LIMIT = 2000

/**
 * Dropbox's change tracking: files/list_folder over the whole app folder (recursive) once, then
 * list_folder/continue from the stored cursor, which answers only the net changes since,
 * deletions included (`deleted` entries carry a path, no id).
 */
export class DropboxChanges implements RemoteChanges {
  readonly #client: DropboxClient
  readonly #limit: number

  constructor (client: DropboxClient, limit = LIST_PAGE_LIMIT) {
    this.#client = client
    this.#limit = limit
  }

  async listAll (): Promise<RemoteChangePage> {
    return pageOf(await this.#client.call(sdk => sdk.filesListFolder({ path: '', recursive: true, limit: this.#limit })))
  }

  async continue (cursor: string): Promise<RemoteChangePage> {
    try {
      return pageOf(await this.#client.call(sdk => sdk.filesListFolderContinue({ cursor })))
    } catch (err) {
      if (err instanceof DropboxPermanentError && err.tag?.split('/')[0] === 'reset') {
        throw new StorageCursorResetError('Dropbox no longer answers this cursor (reset): list everything again', { cause: err })
      }
      throw err
    }
  }

  async lookup (pathOrId: string): Promise<RemoteFile | undefined> {
    try {
      const metadata = await this.#client.call(sdk => sdk.filesGetMetadata({ path: pathOrId }))
      return metadata['.tag'] === 'file' ? remoteFile(metadata as files.FileMetadataReference) : undefined
    } catch (err) {
      if (err instanceof DropboxPermanentError && err.tag?.startsWith('path/not_found')) return undefined
      throw err
    }
  }
}

function pageOf (result: files.ListFolderResult): RemoteChangePage {
  const changes: RemoteChange[] = []
  for (const entry of result.entries) {
    if (entry['.tag'] === 'file') changes.push({ kind: 'file', file: remoteFile(entry) })
    else if (entry['.tag'] === 'deleted') changes.push({ kind: 'deleted', pathLower: entry.path_lower ?? entry.name.toLowerCase() })
  }
  return { changes, cursor: result.cursor, hasMore: result.has_more }
}

function remoteFile (entry: files.FileMetadata): RemoteFile {
  const path = entry.path_display ?? entry.path_lower ?? `/${entry.name}`
  return {
    id: entry.id,
    path,
    pathLower: entry.path_lower ?? path.toLowerCase(),
    name: entry.name,
    size: entry.size,
    contentHash: entry.content_hash ?? '',
    serverModified: new Date(entry.server_modified)
  }
}
