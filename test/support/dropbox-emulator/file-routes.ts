import { apiRoute, type ApiCall } from './api-call.ts'
import { deleteAt, moveTo } from './file-changes.ts'
import { headerSafeJson } from './http-io.ts'
import { lookup } from './lookup.ts'
import { fileMetadata, taggedMetadata } from './metadata.ts'
import { parseDeleteArg, parseDownloadArg, parseGetMetadataArg, parseMoveArg, type MoveArg } from './route-args.ts'

// Read, delete and move routes over the namespace; listing is in list-folder-routes.ts.

async function download (call: ApiCall, arg: { path: string }): Promise<void> {
  const found = lookup(call.state, arg.path)
  if ('error' in found) return call.endpointError({ '.tag': 'path', path: found.error })
  const { entry } = found
  if (entry.kind !== 'file') return call.endpointError({ '.tag': 'path', path: { '.tag': 'not_file' } })
  const headers = { 'Content-Type': 'application/octet-stream', 'Dropbox-API-Result': headerSafeJson(fileMetadata(entry)) }
  // Content-download routes honour one HTTP range (RFC 9110): 206 with it, 416 past the end;
  // several ranges, or a malformed header, are ignored (the whole file), as HTTP allows.
  const range = byteRange(call.req.headers.range, entry.size)
  if (range === 'unsatisfiable') return call.text(416, 'Requested range not satisfiable', { 'Content-Range': `bytes */${entry.size}` })
  return call.file(entry.blob, entry.size, headers, range)
}

function byteRange (header: string | undefined, size: number): { start: number, end: number } | 'unsatisfiable' | undefined {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!match || (match[1] === '' && match[2] === '')) return undefined
  if (match[1] === '') {
    const suffix = Number(match[2])
    if (suffix === 0) return 'unsatisfiable'
    return { start: Math.max(size - suffix, 0), end: size - 1 }
  }
  const start = Number(match[1])
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1)
  if (start >= size) return 'unsatisfiable'
  return end < start ? undefined : { start, end }
}

async function getMetadata (call: ApiCall, arg: { path: string }): Promise<void> {
  const found = lookup(call.state, arg.path)
  if ('error' in found) return call.endpointError({ '.tag': 'path', path: found.error })
  return call.json(taggedMetadata(found.entry))
}

async function deleteEntry (call: ApiCall, arg: { path: string, parentRev?: string }): Promise<void> {
  const result = deleteAt(call.state, arg.path, arg.parentRev)
  if (!result.ok) return call.endpointError(result.error)
  call.state.counters.commits++
  return call.json({ metadata: result.metadata })
}

async function move (call: ApiCall, arg: MoveArg): Promise<void> {
  const result = moveTo(call.state, arg.fromPath, arg.toPath, arg.autorename)
  if (!result.ok) return call.endpointError(result.error)
  call.state.counters.commits++
  return call.json({ metadata: result.metadata })
}

export const fileRoutes = {
  'files/download': apiRoute({ style: 'download', commit: false, parse: parseDownloadArg, handle: download }),
  'files/get_metadata': apiRoute({ style: 'rpc', commit: false, parse: parseGetMetadataArg, handle: getMetadata }),
  'files/delete_v2': apiRoute({ style: 'rpc', commit: true, parse: parseDeleteArg, handle: deleteEntry }),
  'files/move_v2': apiRoute({ style: 'rpc', commit: true, parse: parseMoveArg, handle: move })
}
