import { apiRoute, type ApiCall } from './api-call.ts'
import { BadArgument } from './arg-schema.ts'
import { conflict, notFound, type Tagged } from './dropbox-errors.ts'
import type { EmulatorState } from './emulator-state.ts'
import { headerSafeJson } from './http-io.ts'
import { fileMetadata, taggedMetadata } from './metadata.ts'
import type { Entry } from './namespace.ts'
import { pathProblem } from './paths.ts'
import {
  parseDeleteArg, parseDownloadArg, parseGetMetadataArg, parseListFolderArg, parseListFolderContinueArg,
  type ListFolderArg
} from './route-args.ts'

// Read and delete routes over the namespace.

export type Lookup = { entry: Entry } | { error: Tagged } // a files.LookupError

export function lookup (state: EmulatorState, path: string): Lookup {
  if (path.startsWith('/')) {
    const problem = pathProblem(path)
    if (problem === 'malformed_path') return { error: { '.tag': 'malformed_path' } }
  }
  const entry = state.namespace.resolve(path)
  return entry ? { entry } : { error: notFound }
}

async function download (call: ApiCall, arg: { path: string }): Promise<void> {
  const found = lookup(call.state, arg.path)
  if ('error' in found) return call.endpointError({ '.tag': 'path', path: found.error })
  const { entry } = found
  if (entry.kind !== 'file') return call.endpointError({ '.tag': 'path', path: { '.tag': 'not_file' } })
  return call.file(entry.blob, entry.size, {
    'Content-Type': 'application/octet-stream',
    'Dropbox-API-Result': headerSafeJson(fileMetadata(entry))
  })
}

async function getMetadata (call: ApiCall, arg: { path: string }): Promise<void> {
  const found = lookup(call.state, arg.path)
  if ('error' in found) return call.endpointError({ '.tag': 'path', path: found.error })
  return call.json(taggedMetadata(found.entry))
}

// The cursor carries the listing position, so paging needs no server memory.
interface FolderCursor {
  folder: string // id of the listed folder, or '' for the root
  recursive: boolean
  offset: number
  limit: number
}

const DEFAULT_PAGE = 2000

async function listFolder (call: ApiCall, arg: ListFolderArg): Promise<void> {
  let folder = ''
  if (arg.path !== '') {
    const found = lookup(call.state, arg.path)
    if ('error' in found) return call.endpointError({ '.tag': 'path', path: found.error })
    if (found.entry.kind !== 'folder') return call.endpointError({ '.tag': 'path', path: { '.tag': 'not_folder' } })
    folder = found.entry.id
  }
  return listPage(call, { folder, recursive: arg.recursive, offset: 0, limit: arg.limit ?? DEFAULT_PAGE })
}

async function listFolderContinue (call: ApiCall, arg: { cursor: string }): Promise<void> {
  return listPage(call, decodeCursor(arg.cursor))
}

async function listPage (call: ApiCall, cursor: FolderCursor): Promise<void> {
  const { namespace } = call.state
  let folderLower = ''
  if (cursor.folder !== '') {
    const folder = namespace.byId(cursor.folder)
    if (!folder) return call.endpointError({ '.tag': 'path', path: notFound })
    folderLower = folder.pathLower
  }
  const all = namespace.list(folderLower, cursor.recursive)
  const end = Math.min(all.length, cursor.offset + cursor.limit)
  const page = all.slice(cursor.offset, end)
  return call.json({
    entries: page.map(taggedMetadata),
    cursor: encodeCursor({ ...cursor, offset: end }),
    has_more: end < all.length
  })
}

function encodeCursor (cursor: FolderCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url')
}

function decodeCursor (text: string): FolderCursor {
  try {
    const cursor = JSON.parse(Buffer.from(text, 'base64url').toString()) as FolderCursor
    if (typeof cursor.folder === 'string' && Number.isInteger(cursor.offset) && Number.isInteger(cursor.limit)) return cursor
  } catch {}
  throw new BadArgument('cursor: invalid cursor')
}

async function deleteEntry (call: ApiCall, arg: { path: string, parentRev?: string }): Promise<void> {
  const { state } = call
  const found = lookup(state, arg.path)
  if ('error' in found) return call.endpointError({ '.tag': 'path_lookup', path_lookup: found.error })
  const { entry } = found
  if (arg.parentRev !== undefined && (entry.kind !== 'file' || entry.rev !== arg.parentRev)) {
    return call.endpointError({ '.tag': 'path_write', path_write: conflict('file') })
  }
  const metadata = taggedMetadata(entry)
  for (const removed of state.namespace.remove(entry)) {
    state.links.removeTarget(removed.id)
    if (removed.kind === 'file') state.store.discard(removed.blob)
  }
  state.counters.commits++
  return call.json({ metadata })
}

export const fileRoutes = {
  'files/download': apiRoute({ style: 'download', commit: false, parse: parseDownloadArg, handle: download }),
  'files/get_metadata': apiRoute({ style: 'rpc', commit: false, parse: parseGetMetadataArg, handle: getMetadata }),
  'files/list_folder': apiRoute({ style: 'rpc', commit: false, parse: parseListFolderArg, handle: listFolder }),
  'files/list_folder/continue': apiRoute({ style: 'rpc', commit: false, parse: parseListFolderContinueArg, handle: listFolderContinue }),
  'files/delete_v2': apiRoute({ style: 'rpc', commit: true, parse: parseDeleteArg, handle: deleteEntry })
}
