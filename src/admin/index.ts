import formbody from '@fastify/formbody'
import type { FastifyPluginAsync } from 'fastify'
import audit from './plugins/audit.ts'
import errorPages from './plugins/error-pages.ts'
import guard from './plugins/guard.ts'
import security from './plugins/security.ts'
import sessions from './plugins/sessions.ts'
import accountRoutes from './routes/accounts.ts'
import apiKeyRoutes from './routes/api-keys.ts'
import assetRoutes from './routes/assets.ts'
import auditRoutes from './routes/audit.ts'
import imageRoutes from './routes/images.ts'
import loginRoutes from './routes/login.ts'
import queueRoutes from './routes/queues.ts'
import syncRoutes from './routes/sync.ts'

/**
 * The operators' panel, registered by app.ts under /admin in a scope of its own: its hooks
 * (sessions, the login guard, security headers), its form parser and its HTML error pages apply
 * here and nowhere in the public API.
 */
const admin: FastifyPluginAsync = async (fastify) => {
  await fastify.register(security)
  await fastify.register(formbody)
  await fastify.register(sessions)
  await fastify.register(audit)
  await fastify.register(guard)
  await fastify.register(errorPages)

  await fastify.register(assetRoutes)
  await fastify.register(loginRoutes)
  await fastify.register(imageRoutes)
  await fastify.register(queueRoutes)
  await fastify.register(syncRoutes)
  await fastify.register(apiKeyRoutes)
  await fastify.register(accountRoutes)
  await fastify.register(auditRoutes)
}

export default admin
