import helmet from '@fastify/helmet'
import fp from 'fastify-plugin'

// The panel's own pages load only their stylesheet and script from here, and previews from the
// service's own rendering URLs (/i/{id}/thumbnail, /display): same origin, so no page view ever
// spends Dropbox shared-link traffic (a link over its daily cap is banned).
export const PANEL_CSP = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'"],
  connectSrc: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"]
}

export default fp(async (fastify) => {
  await fastify.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: PANEL_CSP },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginEmbedderPolicy: false,
    hsts: fastify.config.admin.cookieSecure ? { maxAge: 180 * 24 * 3600 } : false
  })
  // Pages hold personal data (phone numbers): no cache, shared or private, keeps them.
  fastify.addHook('onSend', async (_request, reply) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
  })
}, { name: 'admin-security' })
