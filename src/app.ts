import { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import admin from './admin/index.ts'
import type { Config } from './config.ts'
import configPlugin from './plugins/config.ts'
import database from './plugins/database.ts'
import cors from './http/plugins/cors.ts'
import errorHandler from './http/plugins/error-handler.ts'
import requestLog from './http/plugins/request-log.ts'
import storage from './plugins/storage.ts'
import swagger from './http/plugins/swagger.ts'
import uploadQueue from './plugins/upload-queue.ts'
import filesRoutes from './http/routes/files.ts'
import getPhoneRoutes from './http/routes/get-phone.ts'
import healthRoutes from './http/routes/health.ts'
import rootRoutes from './http/routes/root.ts'
import uploadStatusRoutes from './http/routes/upload-status.ts'
import uploadRoutes from './http/routes/upload.ts'

export interface AppOptions {
  config: Config
}

/** Fastify settings shared by the server and the tests' build(). */
export function serverOptions (config: Config): FastifyServerOptions {
  return {
    logger: {
      level: config.logLevel,
      redact: ['req.headers.authorization', 'req.headers.cookie']
    },
    // The contract's paths end in "/"; clients that drop it reach the same routes.
    routerOptions: { ignoreTrailingSlash: true },
    bodyLimit: 1024 * 1024,
    requestIdHeader: 'x-request-id',
    // One line per request (http/plugins/request-log.ts) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // Generous enough for large uploads on slow mobile links, never unbounded.
    requestTimeout: 10 * 60 * 1000,
    // No connectionTimeout: it would also cut uploads that wait for their files to be stored.
    // A body that stops arriving is cut after UPLOAD_IDLE_TIMEOUT_MS (uploads/receive-multipart.ts).
    // 'idle' closes used keep-alive connections on close(); server.ts also closes unused ones.
    forceCloseConnections: 'idle',
    trustProxy: config.trustProxy
  }
}

/** The whole service as a plugin: it never listens (server.ts does), so tests inject into it. */
export default async function app (fastify: FastifyInstance, { config }: AppOptions): Promise<void> {
  await fastify.register(configPlugin, { config })
  await fastify.register(requestLog)
  await fastify.register(errorHandler)
  await fastify.register(cors)
  await fastify.register(swagger)
  await fastify.register(database)
  await fastify.register(storage)
  await fastify.register(uploadQueue)

  await fastify.register(uploadRoutes)
  await fastify.register(getPhoneRoutes)
  await fastify.register(uploadStatusRoutes)
  await fastify.register(healthRoutes)
  await fastify.register(rootRoutes)
  if (config.storage === 'local') await fastify.register(filesRoutes)
  // The operators' panel, in a scope of its own (sessions, HTML errors); ADMIN_ENABLED=false leaves it out.
  if (config.admin.enabled) await fastify.register(admin, { prefix: '/admin' })
}
