import { apiRoute, type ApiCall } from './api-call.ts'
import type { Scope } from './change-journal.ts'
import { notFound, type Tagged } from './dropbox-errors.ts'
import type { EmulatorState } from './emulator-state.ts'
import { decodeCursor, encodeCursor, restingCursor, type ListCursor } from './list-cursor.ts'
import { lookup } from './lookup.ts'
import { parseListFolderArg, parseListFolderContinueArg, type ListFolderArg } from './route-args.ts'

// files/list_folder, list_folder/continue and list_folder/get_latest_cursor, answered from the
// change journal. A cursor either pages a set of entries fixed when its first page was served (the
// first listing, or the changes since the previous cursor), or rests at a sequence number, and
// then the next continue collects everything that changed after it.

const DEFAULT_LIMIT = 2000

type Folder = { pathLower: string } | { error: Tagged } // a files.LookupError

function folderAt (state: EmulatorState, path: string): Folder {
  if (path === '') return { pathLower: '' }
  const found = lookup(state, path)
  if ('error' in found) return found
  if (found.entry.kind !== 'folder') return { error: { '.tag': 'not_folder' } }
  return { pathLower: found.entry.pathLower }
}

async function listFolder (call: ApiCall, arg: ListFolderArg): Promise<void> {
  const folder = folderAt(call.state, arg.path)
  if ('error' in folder) return call.endpointError({ '.tag': 'path', path: folder.error })
  const { journal } = call.state
  const head = journal.head
  return listPage(call, {
    epoch: journal.epoch,
    path: folder.pathLower,
    recursive: arg.recursive,
    limit: arg.limit ?? DEFAULT_LIMIT,
    listing: true,
    after: journal.base,
    upTo: head,
    offset: 0
  })
}

async function getLatestCursor (call: ApiCall, arg: ListFolderArg): Promise<void> {
  const folder = folderAt(call.state, arg.path)
  if ('error' in folder) return call.endpointError({ '.tag': 'path', path: folder.error })
  const { journal } = call.state
  const cursor = restingCursor({ epoch: journal.epoch, path: folder.pathLower, recursive: arg.recursive, limit: arg.limit ?? DEFAULT_LIMIT }, journal.head)
  return call.json({ cursor: encodeCursor(cursor) })
}

// A cursor this emulator did not issue, or issued before resetCursors(), answers reset: the
// client has to list the folder again from the start. The listed folder being gone is a path
// error, as in Dropbox.
async function listFolderContinue (call: ApiCall, arg: { cursor: string }): Promise<void> {
  const { state } = call
  const cursor = decodeCursor(arg.cursor)
  if (!cursor || !state.journal.knows(cursor.epoch, cursor.after) || !state.journal.knows(cursor.epoch, cursor.upTo) ||
    cursor.after > cursor.upTo || cursor.limit < 1) {
    state.counters.cursorResets++
    return call.endpointError({ '.tag': 'reset' })
  }
  if (cursor.path !== '') {
    const folder = state.namespace.resolve(cursor.path)
    if (folder?.kind !== 'folder') return call.endpointError({ '.tag': 'path', path: folder ? { '.tag': 'not_folder' } : notFound })
  }
  const resting = !cursor.listing && cursor.offset === 0
  return listPage(call, resting ? { ...cursor, upTo: state.journal.head } : cursor)
}

async function listPage (call: ApiCall, cursor: ListCursor): Promise<void> {
  const { journal, counters } = call.state
  const scope: Scope = { pathLower: cursor.path, recursive: cursor.recursive }
  const all = cursor.listing ? journal.listing(scope, cursor.upTo) : journal.changes(scope, cursor.after, cursor.upTo)
  const end = Math.min(all.length, cursor.offset + cursor.limit)
  const hasMore = end < all.length
  const next = hasMore ? { ...cursor, offset: end } : restingCursor(cursor, cursor.upTo)
  counters.listFolderEntries += Math.max(0, end - cursor.offset)
  return call.json({ entries: all.slice(cursor.offset, end), cursor: encodeCursor(next), has_more: hasMore })
}

export const listFolderRoutes = {
  'files/list_folder': apiRoute({ style: 'rpc', commit: false, parse: parseListFolderArg, handle: listFolder }),
  'files/list_folder/continue': apiRoute({ style: 'rpc', commit: false, parse: parseListFolderContinueArg, handle: listFolderContinue }),
  'files/list_folder/get_latest_cursor': apiRoute({ style: 'rpc', commit: false, parse: parseListFolderArg, handle: getLatestCursor })
}
