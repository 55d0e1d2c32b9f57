import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { HttpError } from '../../core/http-error.ts'
import type { ApiKeyIdentity } from '../../plugins/api-key-store.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The client app's key when the request carried a valid one; null otherwise. */
    apiKey: ApiKeyIdentity | null
  }
  interface FastifyContextConfig {
    /** An /api route that must answer without an API key (one that authenticates its callers its own way). */
    apiKeyExempt?: boolean
  }
}

const REALM = 'Bearer realm="image-upload"'

type Presented =
  | { kind: 'none' }
  | { kind: 'key', key: string }
  | { kind: 'unusable', message: string }

/** The key from `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
function presentedKey (request: FastifyRequest): Presented {
  const header = request.headers['x-api-key']
  const fromHeader = typeof header === 'string' && header.trim() !== '' ? header.trim() : undefined
  const authorization = request.headers.authorization
  const fromBearer = authorization === undefined ? undefined : /^Bearer +(\S+) *$/i.exec(authorization)?.[1]
  if (fromHeader !== undefined && fromBearer !== undefined && fromHeader !== fromBearer) {
    return { kind: 'unusable', message: 'The Authorization and X-API-Key headers carry different keys. Send the app\'s API key in one of them.' }
  }
  const key = fromBearer ?? fromHeader
  if (key !== undefined) return { kind: 'key', key }
  if (authorization !== undefined) return { kind: 'unusable', message: 'Send the API key as `Authorization: Bearer <key>` (no other scheme is accepted) or as `X-API-Key: <key>`.' }
  return { kind: 'none' }
}

const refused = (message: string, invalidToken: boolean): HttpError =>
  new HttpError(401, message, { 'www-authenticate': invalidToken ? `${REALM}, error="invalid_token"` : REALM })

/**
 * Client authentication of every /api route (upload, lookups, status, and any later one; image
 * URLs are outside /api and stay public). API_AUTH=required: a valid API key or a 401.
 * API_AUTH=off (the contract's open API): a valid key is still recognised (its own rate-limit
 * budget and Idempotency-Key scope, its last use recorded), and anything else is served as
 * anonymous, as the contract promises. Keys are never logged: only their names are.
 */
export default fp(async (fastify) => {
  const { required } = fastify.config.apiAuth
  const apiKeys = fastify.apiKeys
  if (!required) {
    fastify.log.warn('API_AUTH=off: the /api routes answer anyone, without an API key (the original contract). Set API_AUTH=required once your apps send keys (README, "Client authentication").')
  }
  fastify.decorateRequest('apiKey', null)

  fastify.addHook('onRequest', async (request) => {
    // The route's pattern, not the raw URL: an encoded or doubled slash cannot slip past it.
    const route = request.routeOptions.url
    // A CORS preflight carries no credentials, by the standard.
    if (route === undefined || !route.startsWith('/api/') || request.method === 'OPTIONS' || request.routeOptions.config.apiKeyExempt) return

    const presented = presentedKey(request)
    if (presented.kind === 'none') {
      if (required) throw refused('This API needs an API key. Send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`.', false)
      return
    }
    if (presented.kind === 'unusable') {
      if (required) throw refused(presented.message, true)
      return
    }
    const check = await apiKeys.check(presented.key)
    if (check.status === 'valid') {
      request.apiKey = check.key
      // The name (never the key) on every log line of the request, the request line included.
      request.log = request.log.child({ apiKey: check.key.name })
      return
    }
    if (check.status === 'revoked') request.log.info({ apiKey: check.key.name }, 'a revoked API key was presented')
    if (!required) return
    throw check.status === 'revoked'
      ? refused('This API key has been revoked. Update the app to a version with a current key.', true)
      : refused('This API key is not valid. Check the key the app was built with.', true)
  })
}, { name: 'api-auth', dependencies: ['config', 'api-keys'] })
