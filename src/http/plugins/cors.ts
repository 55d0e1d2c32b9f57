import cors from '@fastify/cors'
import fp from 'fastify-plugin'

// What a browser app on another origin must be allowed to send, and to read from the answers.
const ALLOWED_HEADERS = [
  'Content-Type', 'Authorization', 'X-API-Key', 'Idempotency-Key', 'X-Request-Id',
  // tus (resumable uploads)
  'Tus-Resumable', 'Upload-Length', 'Upload-Defer-Length', 'Upload-Metadata', 'Upload-Offset', 'Upload-Checksum', 'Upload-Concat'
]
const EXPOSED_HEADERS = [
  'Retry-After', 'Location', 'X-Request-Id', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset',
  'Tus-Resumable', 'Tus-Version', 'Tus-Extension', 'Tus-Max-Size', 'Tus-Checksum-Algorithm', 'Upload-Offset', 'Upload-Length', 'Upload-Metadata', 'Upload-Expires'
]

/**
 * CORS for browser apps calling the public API (never the admin, whose cookie must stay
 * same-site). No credentials: API keys travel in headers, so any listed origin is safe to allow.
 */
export default fp(async (fastify) => {
  const { corsOrigins } = fastify.config
  if (corsOrigins.length === 0) return
  const origin = corsOrigins.includes('*') ? '*' : corsOrigins
  await fastify.register(cors, {
    delegator: (request, callback) => {
      const url = request.url ?? ''
      if (!url.startsWith('/api/') && !url.startsWith('/i/') && !url.startsWith('/files/')) return callback(null, { origin: false })
      // An OPTIONS without Access-Control-Request-Method is not a preflight: under /api/tus/ it
      // is tus's discovery request, which tus answers (Tus-Version, Tus-Extension...).
      const tusDiscovery = request.method === 'OPTIONS' && url.startsWith('/api/tus') && request.headers['access-control-request-method'] === undefined
      callback(null, { origin, allowedHeaders: ALLOWED_HEADERS, exposedHeaders: EXPOSED_HEADERS, methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE', 'OPTIONS'], maxAge: 600, preflight: !tusDiscovery })
    }
  })
}, { name: 'cors', dependencies: ['config'] })
