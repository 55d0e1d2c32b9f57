import type { IncomingMessage, ServerResponse } from 'node:http'
import { ContentHasher } from './content-hash.ts'
import { envelope } from './dropbox-errors.ts'
import type { EmulatorState } from './emulator-state.ts'
import { readBody, sendJson, sendText } from './http-io.ts'
import { addFolder, deletePath, movePath, OutsideChangeError, placeFile } from './outside-changes.ts'
import { storedFiles } from './stored-files.ts'
import type { OutsideFileOptions } from './types.ts'

// /__emulator/*: the same controls as the in-process API, for a benchmark running the emulator
// as another process. A refused outside change answers 409 with the Dropbox error envelope the
// API would send; a malformed control request answers 400 with plain text.
export async function handleControl (state: EmulatorState, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const action = `${req.method ?? ''} ${url.pathname.slice('/__emulator/'.length)}`
  try {
    return await control(state, action, req, res, url)
  } catch (error) {
    if (error instanceof OutsideChangeError) return sendJson(res, 409, envelope(error.error))
    if (error instanceof BadControl || error instanceof TypeError) return sendText(res, 400, error.message)
    throw error
  }
}

class BadControl extends Error {}

async function control (state: EmulatorState, action: string, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  switch (action) {
    case 'GET counters':
      return sendJson(res, 200, state.counters.snapshot())
    case 'POST reset':
      await readBody(req, 1024)
      state.counters.reset()
      return sendJson(res, 200, state.counters.snapshot())
    case 'GET faults':
      return sendJson(res, 200, state.faults)
    case 'POST configure':
      state.configure(await readJson(req))
      return sendJson(res, 200, state.faults)
    case 'POST expire-tokens':
      await readBody(req, 1024)
      state.tokens.expireAll()
      return sendJson(res, 200, {})
    case 'GET files':
      return sendJson(res, 200, storedFiles(state))

    // Changes from outside. add-file takes the raw bytes as the body and its arguments in the
    // query: ?path=/a.jpg[&mode=add|overwrite][&autorename=true][&client_modified=...].
    case 'POST add-file':
      return sendJson(res, 200, await addFileFromBody(state, req, url))
    case 'POST add-folder':
      return sendJson(res, 200, addFolder(state, stringField(await readJson(req), 'path')))
    case 'POST delete':
      return sendJson(res, 200, deletePath(state, stringField(await readJson(req), 'path')))
    case 'POST move': {
      const body = await readJson(req)
      return sendJson(res, 200, movePath(state, stringField(body, 'from_path'), stringField(body, 'to_path'), body.autorename === true))
    }
    case 'POST reset-cursors':
      await readBody(req, 1024)
      state.resetCursors()
      return sendJson(res, 200, {})

    // Webhook notifications: settings {url, appSecret, debounceMs}, and one notification now.
    case 'GET webhook':
      return sendJson(res, 200, state.webhooks.settings)
    case 'POST webhook':
      state.configureWebhook(await readJson(req))
      return sendJson(res, 200, state.webhooks.settings)
    case 'POST send-webhook':
    case 'POST send-forged-webhook':
      await readBody(req, 1024)
      if (state.webhooks.settings.url === null) throw new BadControl('no webhook URL is configured')
      return sendJson(res, 200, await state.webhooks.send(action === 'POST send-webhook' ? 'valid' : 'forged'))
    default:
      return sendText(res, 404, `unknown emulator control: ${action}`)
  }
}

async function readJson (req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = (await readBody(req, 64 * 1024)).toString('utf8')
  let value: unknown
  try {
    value = JSON.parse(text === '' ? '{}' : text)
  } catch {
    throw new BadControl('the body must be JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BadControl('the body must be a JSON object')
  return value as Record<string, unknown>
}

function stringField (body: Record<string, unknown>, key: string): string {
  const value = body[key]
  if (typeof value !== 'string') throw new BadControl(`'${key}' must be a string`)
  return value
}

async function addFileFromBody (state: EmulatorState, req: IncomingMessage, url: URL): Promise<unknown> {
  const path = url.searchParams.get('path')
  if (path === null) throw new BadControl("the query must name the file's 'path'")
  const mode = url.searchParams.get('mode') ?? 'overwrite'
  if (mode !== 'add' && mode !== 'overwrite') throw new BadControl("mode must be 'add' or 'overwrite'")
  const options: OutsideFileOptions = { mode, autorename: url.searchParams.get('autorename') === 'true' }
  const clientModified = url.searchParams.get('client_modified')
  if (clientModified !== null) options.clientModified = clientModified
  const blob = state.store.newFile('upload')
  const hasher = new ContentHasher()
  const received = await state.store.receive(req, blob, { limit: Number.MAX_SAFE_INTEGER, hashers: [hasher] })
  return placeFile(state, path, { blob, size: received.bytes, contentHash: hasher.digest() }, options)
}
