import type { IncomingMessage, ServerResponse } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type { EmulatorState } from './emulator-state.ts'
import { contentTypeOf, mediaType, readBody, sendJson } from './http-io.ts'

// POST /oauth2/token, refresh_token grant only. The SDK puts every field in the query string
// with an empty JSON body; curl-style clients send a form body or HTTP Basic client credentials.
export async function handleTokenRequest (state: EmulatorState, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  state.counters.countCall('oauth2/token')
  const params = new URLSearchParams(url.searchParams)
  const body = await readBody(req, 64 * 1024)
  if (mediaType(contentTypeOf(req)) === 'application/x-www-form-urlencoded') {
    for (const [key, value] of new URLSearchParams(body.toString('utf8'))) params.set(key, value)
  }
  const basic = /^Basic\s+(\S+)$/.exec(req.headers.authorization ?? '')?.[1]
  if (basic) {
    const [id, secret] = Buffer.from(basic, 'base64').toString('utf8').split(':')
    if (id !== undefined) params.set('client_id', id)
    if (secret !== undefined) params.set('client_secret', secret)
  }

  const { latencyMs, tokenTtlSeconds } = state.faults
  if (latencyMs > 0) await sleep(latencyMs)
  const fail = (error: string, description: string): void => sendJson(res, 400, { error, error_description: description })

  const grantType = params.get('grant_type')
  if (!grantType) return fail('invalid_request', 'No grant_type provided.')
  if (grantType !== 'refresh_token') return fail('unsupported_grant_type', `Unsupported grant_type "${grantType}".`)
  const { appKey, appSecret, refreshToken } = state.options
  if (params.get('client_id') !== appKey || params.get('client_secret') !== appSecret) {
    return fail('invalid_client', 'Invalid client_id or client_secret')
  }
  if (!params.get('refresh_token')) return fail('invalid_request', 'No refresh_token provided.')
  if (params.get('refresh_token') !== refreshToken) return fail('invalid_grant', 'refresh token is invalid or revoked')

  state.counters.tokensIssued++
  sendJson(res, 200, {
    access_token: state.tokens.issue(tokenTtlSeconds),
    token_type: 'bearer',
    expires_in: tokenTtlSeconds
  })
}
