import type { IncomingMessage, ServerResponse } from 'node:http'
import type { EmulatorState } from './emulator-state.ts'
import { readBody, sendJson, sendText } from './http-io.ts'
import { storedFiles } from './stored-files.ts'

// /__emulator/*: the same controls as the in-process API, for a benchmark running the emulator
// as another process.
export async function handleControl (state: EmulatorState, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const action = `${req.method ?? ''} ${url.pathname.slice('/__emulator/'.length)}`
  switch (action) {
    case 'GET counters':
      return sendJson(res, 200, state.counters.snapshot())
    case 'POST reset':
      await readBody(req, 1024)
      state.counters.reset()
      return sendJson(res, 200, state.counters.snapshot())
    case 'GET faults':
      return sendJson(res, 200, state.faults)
    case 'POST configure': {
      const body = await readBody(req, 64 * 1024)
      try {
        state.configure(JSON.parse(body.toString('utf8')))
      } catch (error) {
        return sendText(res, 400, error instanceof Error ? error.message : String(error))
      }
      return sendJson(res, 200, state.faults)
    }
    case 'POST expire-tokens':
      await readBody(req, 1024)
      state.tokens.expireAll()
      return sendJson(res, 200, {})
    case 'GET files':
      return sendJson(res, 200, storedFiles(state))
    default:
      return sendText(res, 404, `unknown emulator control: ${action}`)
  }
}
