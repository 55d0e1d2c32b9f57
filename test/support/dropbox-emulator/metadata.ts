import type { Entry, FileEntry } from './namespace.ts'
import type { DeletedMetadata, FileMetadata, Metadata } from './types.ts'

export function fileMetadata (entry: FileEntry): FileMetadata {
  return {
    name: entry.name,
    id: entry.id,
    client_modified: entry.clientModified,
    server_modified: entry.serverModified,
    rev: entry.rev,
    size: entry.size,
    path_lower: entry.pathLower,
    path_display: entry.pathDisplay,
    is_downloadable: true,
    content_hash: entry.contentHash
  }
}

// files.Metadata union member, as get_metadata, list_folder and delete_v2 return it.
export function taggedMetadata (entry: Entry): Metadata {
  if (entry.kind === 'file') return { '.tag': 'file', ...fileMetadata(entry) }
  return { '.tag': 'folder', name: entry.name, id: entry.id, path_lower: entry.pathLower, path_display: entry.pathDisplay }
}

// files.DeletedMetadata: only the path, no id, as list_folder/continue reports a removal.
export function deletedMetadata (entry: Entry): DeletedMetadata {
  return { '.tag': 'deleted', name: entry.name, path_lower: entry.pathLower, path_display: entry.pathDisplay }
}
