import type { IncomingMessage, ServerResponse } from 'node:http'
import { readArgument } from './api-arguments.ts'
import { ApiCall, type ApiRoute } from './api-call.ts'
import { BadArgument } from './arg-schema.ts'
import type { EmulatorState } from './emulator-state.ts'
import { fileRoutes } from './file-routes.ts'
import { finishBatchRoutes } from './finish-batch-route.ts'
import { listFolderRoutes } from './list-folder-routes.ts'
import { sharingRoutes } from './sharing-routes.ts'
import { uploadRoutes } from './upload-routes.ts'
import { usersRoutes } from './users-routes.ts'

const ROUTES: Record<string, ApiRoute | undefined> = {
  ...uploadRoutes, ...finishBatchRoutes, ...fileRoutes, ...listFolderRoutes, ...sharingRoutes, ...usersRoutes
}

// A /2/ call passes, in order: the serverErrors fault, authentication, argument checks (400),
// the rate limit (429 too_many_requests), the namespace lock for commits (429
// too_many_write_operations), then the route itself.
export async function handleApiCall (state: EmulatorState, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const name = url.pathname.slice('/2/'.length)
  state.counters.countCall(name)
  const call = new ApiCall(state, req, res, name)
  const route = ROUTES[name]
  if (!route) return call.text(400, `Unknown API function: "${name}"`)
  if (req.method !== 'POST' && !(route.style === 'download' && req.method === 'GET')) {
    return call.text(405, `Error in call to API function "${name}": Request method must be POST.`)
  }

  const serverErrors = state.faults.serverErrors
  if (serverErrors && serverErrors.remaining > 0) {
    serverErrors.remaining--
    state.counters.serverErrors++
    const status = serverErrors.status ?? 500
    return call.text(status, status === 503 ? 'Service Unavailable' : 'Internal Server Error')
  }

  const auth = bearerToken(req, url)
  if ('problem' in auth) return call.badRequest(auth.problem)
  const tokenStatus = state.tokens.status(auth.token)
  if (tokenStatus !== 'valid') return call.authError(tokenStatus === 'expired' ? 'expired_access_token' : 'invalid_access_token')

  let source = ''
  let arg: unknown
  try {
    const raw = await readArgument(req, route.style, url)
    source = raw.source
    arg = route.parse(raw.value)
  } catch (error) {
    if (!(error instanceof BadArgument)) throw error
    return call.badRequest(source ? `${source}: ${error.message}` : error.message)
  }

  const rateLimit = state.faults.rateLimit
  if (rateLimit && !state.requestRate.tryAdmit(rateLimit.requestsPerSecond)) {
    state.counters.tooManyRequests++
    return call.rateLimited('too_many_requests', rateLimit.retryAfterSeconds)
  }
  if (route.commit) {
    const contention = state.faults.writeContention
    if (!state.commitLock.tryAcquire(contention?.maxConcurrentCommits)) {
      state.counters.tooManyWriteOperations++
      return call.rateLimited('too_many_write_operations', contention?.retryAfterSeconds ?? 1)
    }
    res.once('close', () => state.commitLock.release())
  }

  try {
    await route.handle(call, arg)
  } catch (error) {
    if (!(error instanceof BadArgument) || res.headersSent) throw error
    return call.badRequest(`${source}: ${error.message}`)
  }
}

function bearerToken (req: IncomingMessage, url: URL): { token: string } | { problem: string } {
  const value = req.headers.authorization ?? url.searchParams.get('authorization')
  if (!value) return { problem: 'Must provide HTTP header "Authorization" or URL parameter "authorization".' }
  const token = /^Bearer\s+(\S+)$/.exec(value.trim())?.[1]
  if (!token) {
    return { problem: `Invalid authorization value in HTTP header "Authorization": "${value}".  Expecting "Bearer <oauth2-access-token>".` }
  }
  return { token }
}
