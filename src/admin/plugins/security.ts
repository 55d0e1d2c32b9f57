import helmet from '@fastify/helmet'
import fp from 'fastify-plugin'

// The panel's own pages load only their stylesheet and script from here; thumbnails come from
// wherever image_url points (Dropbox, the local /files route), without a Referer that would
// carry the admin's search terms along.
export const PANEL_CSP = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ['*'],
  connectSrc: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"]
}

export default fp(async (fastify) => {
  await fastify.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: PANEL_CSP },
    referrerPolicy: { policy: 'no-referrer' },
    // Thumbnails are cross-origin images that send no CORP header.
    crossOriginEmbedderPolicy: false,
    hsts: fastify.config.admin.cookieSecure ? { maxAge: 180 * 24 * 3600 } : false
  })
  // Pages hold personal data (phone numbers): no cache, shared or private, keeps them.
  fastify.addHook('onSend', async (_request, reply) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
  })
}, { name: 'admin-security' })
