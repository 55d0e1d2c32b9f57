import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { handleApiCall } from './api-dispatch.ts'
import { handleControl } from './control-routes.ts'
import type { EmulatorState } from './emulator-state.ts'
import { drain, sendText } from './http-io.ts'
import { handleLinkContent, handleSharedLinkPage } from './link-download-routes.ts'
import { handleTokenRequest } from './oauth-route.ts'

// One server stands in for api.dropboxapi.com, content.dropboxapi.com, www.dropbox.com and the
// content hosts behind shared links: only the path tells them apart.
export function createEmulatorServer (state: EmulatorState): Server {
  const server = createServer((req, res) => {
    route(state, req, res).catch(async (error: unknown) => {
      if (res.headersSent || res.destroyed || req.destroyed) {
        res.destroy()
        return
      }
      console.error('dropbox emulator:', error)
      await drain(req)
      sendText(res, 500, 'Internal Server Error')
    })
  })
  server.requestTimeout = 0 // a slow 1 GiB upload must not be cut off after Node's default 300 s
  return server
}

async function route (state: EmulatorState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  res.setHeader('X-Dropbox-Request-Id', randomBytes(16).toString('hex'))
  const url = new URL(req.url ?? '/', 'http://emulator')
  const { pathname } = url
  if (pathname.startsWith('/2/')) return handleApiCall(state, req, res, url)
  if (pathname === '/oauth2/token') return handleTokenRequest(state, req, res, url)
  if (pathname.startsWith('/scl/')) return handleSharedLinkPage(state, req, res, url)
  if (pathname.startsWith('/cd/0/')) return handleLinkContent(state, req, res, url)
  if (pathname.startsWith('/__emulator/')) return handleControl(state, req, res, url)
  await drain(req)
  sendText(res, 404, 'Not Found')
}
