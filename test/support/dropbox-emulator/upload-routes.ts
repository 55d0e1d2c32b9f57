import { apiRoute, type ApiCall } from './api-call.ts'
import { commitFile } from './commit-file.ts'
import { ContentHasher } from './content-hash.ts'
import { incorrectOffset, lookupFailed, notFound, type Tagged } from './dropbox-errors.ts'
import { drain } from './http-io.ts'
import { fileMetadata } from './metadata.ts'
import {
  parseAppendArg, parseFinishArg, parseStartArg, parseUploadArg,
  type AppendArg, type FinishArg, type StartArg, type UploadArg
} from './route-args.ts'
import type { UploadSession } from './upload-sessions.ts'

// Content-upload routes: argument in Dropbox-API-Arg, raw bytes in the body, streamed to disk.

function declaredLength (call: ApiCall): number | undefined {
  const header = call.req.headers['content-length']
  return header === undefined ? undefined : Number(header)
}

async function upload (call: ApiCall, arg: UploadArg): Promise<void> {
  const { state } = call
  const file = state.store.newFile('upload')
  const hasher = new ContentHasher()
  const received = await state.store.receive(call.req, file, {
    limit: state.faults.maxUploadBytesPerCall, hashers: [hasher], declaredLength: declaredLength(call)
  })
  if (received.tooLarge) {
    state.store.discard(file)
    return call.endpointError({ '.tag': 'payload_too_large' })
  }
  const sessionHasher = hasher.copy()
  const contentHash = hasher.digest()
  if (arg.contentHash !== undefined && arg.contentHash.toLowerCase() !== contentHash) {
    state.store.discard(file)
    return call.endpointError({ '.tag': 'content_hash_mismatch' })
  }
  const result = await commitFile(state, arg.commit, { blob: file, size: received.bytes, contentHash })
  if (!result.ok) {
    // UploadWriteFailed: the bytes stay as a closed session the caller may finish elsewhere.
    const session = state.sessions.adopt(file, received.bytes, sessionHasher)
    return call.endpointError({ '.tag': 'path', reason: result.error, upload_session_id: session.id })
  }
  state.counters.commits++
  return call.json(fileMetadata(result.entry))
}

// Appends this call's body at the session's offset. A rejected chunk leaves the session as it
// was (file truncated back, hash state untouched), so the same offset can be sent again.
async function appendBody (call: ApiCall, session: UploadSession, expectedHash: string | undefined): Promise<Tagged | null> {
  const { store, faults } = call.state
  const fork = session.hasher.copy()
  const chunkHasher = new ContentHasher()
  try {
    const received = await store.receive(call.req, session.file, {
      limit: faults.maxUploadBytesPerCall,
      hashers: [fork, chunkHasher],
      start: session.offset,
      declaredLength: declaredLength(call)
    })
    if (received.tooLarge) {
      await store.truncate(session.file, session.offset)
      return { '.tag': 'payload_too_large' }
    }
    if (expectedHash !== undefined && expectedHash.toLowerCase() !== chunkHasher.digest()) {
      await store.truncate(session.file, session.offset)
      return { '.tag': 'content_hash_mismatch' }
    }
    session.hasher = fork
    session.offset += received.bytes
    return null
  } catch (error) {
    await store.truncate(session.file, session.offset).catch(() => {})
    throw error
  }
}

async function start (call: ApiCall, arg: StartArg): Promise<void> {
  const { state } = call
  if (arg.concurrent) return call.badRequest('session_type: concurrent upload sessions are not emulated')
  const session = state.sessions.open(state.store.newFile('session'))
  session.busy = true
  try {
    const failure = await appendBody(call, session, arg.contentHash)
    if (failure) {
      state.sessions.delete(session.id)
      state.store.discard(session.file)
      return await call.endpointError(failure)
    }
    if (arg.close) session.closed = true
  } finally {
    session.busy = false
  }
  return call.json({ session_id: session.id })
}

async function append (call: ApiCall, arg: AppendArg): Promise<void> {
  const session = call.state.sessions.get(arg.cursor.sessionId)
  if (!session) return call.endpointError(notFound)
  if (session.closed) return call.endpointError({ '.tag': 'closed' })
  if (session.busy || arg.cursor.offset !== session.offset) return call.endpointError(incorrectOffset(session.offset))
  session.busy = true
  try {
    const failure = await appendBody(call, session, arg.contentHash)
    if (failure) return await call.endpointError(failure)
    if (arg.close) session.closed = true
  } finally {
    session.busy = false
  }
  return call.json(null)
}

async function finish (call: ApiCall, arg: FinishArg): Promise<void> {
  const { state } = call
  const session = state.sessions.get(arg.cursor.sessionId)
  if (!session) return call.endpointError(lookupFailed(notFound))
  if (session.busy || arg.cursor.offset !== session.offset) {
    return call.endpointError(lookupFailed(incorrectOffset(session.offset)))
  }
  session.busy = true
  try {
    if (session.closed) {
      if (await bodyHasBytes(call)) return await call.endpointError(lookupFailed({ '.tag': 'closed' }))
    } else {
      const failure = await appendBody(call, session, arg.contentHash)
      if (failure) return await call.endpointError(failure)
      session.closed = true
    }
    const contentHash = session.hasher.copy().digest()
    const result = await commitFile(state, arg.commit, { blob: session.file, size: session.offset, contentHash })
    if (!result.ok) return await call.endpointError({ '.tag': 'path', path: result.error })
    state.sessions.delete(session.id)
    state.counters.commits++
    return await call.json(fileMetadata(result.entry))
  } finally {
    session.busy = false
  }
}

async function bodyHasBytes (call: ApiCall): Promise<boolean> {
  let bytes = 0
  call.req.on('data', (chunk: Buffer) => { bytes += chunk.length })
  await drain(call.req)
  return bytes > 0
}

export const uploadRoutes = {
  'files/upload': apiRoute({ style: 'upload', commit: true, parse: parseUploadArg, handle: upload }),
  'files/upload_session/start': apiRoute({ style: 'upload', commit: false, parse: parseStartArg, handle: start }),
  'files/upload_session/append_v2': apiRoute({ style: 'upload', commit: false, parse: parseAppendArg, handle: append }),
  'files/upload_session/finish': apiRoute({ style: 'upload', commit: true, parse: parseFinishArg, handle: finish })
}
