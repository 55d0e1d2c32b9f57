import type { Server } from 'node:http'
import { LogController, type FastifyHttpOptions, type FastifyInstance } from 'fastify'
import { requestIdFor } from './core/request-id.ts'
import admin from './admin/index.ts'
import apiKeys from './plugins/api-keys.ts'
import apiAuth from './http/plugins/api-auth.ts'
import rateLimits from './http/plugins/rate-limits.ts'
import type { Config } from './config.ts'
import configPlugin from './plugins/config.ts'
import database from './plugins/database.ts'
import dropboxSync from './plugins/dropbox-sync.ts'
import cors from './http/plugins/cors.ts'
import errorHandler from './http/plugins/error-handler.ts'
import loadShedding from './http/plugins/load-shedding.ts'
import requestId from './http/plugins/request-id.ts'
import requestLog from './http/plugins/request-log.ts'
import metrics from './plugins/metrics.ts'
import staging from './plugins/staging.ts'
import storage from './plugins/storage.ts'
import swagger from './http/plugins/swagger.ts'
import uploadQueue from './plugins/upload-queue.ts'
import variantQueue from './plugins/variant-queue.ts'
import exiftool from './plugins/exiftool.ts'
import dropboxWebhookRoutes from './http/routes/dropbox-webhook.ts'
import filesRoutes from './http/routes/files.ts'
import getPhoneRoutes from './http/routes/get-phone.ts'
import imageRoutes from './http/routes/images.ts'
import healthRoutes from './http/routes/health.ts'
import metricsRoutes from './http/routes/metrics.ts'
import rootRoutes from './http/routes/root.ts'
import uploadStatusRoutes from './http/routes/upload-status.ts'
import uploadRoutes from './http/routes/upload.ts'
import tusRoutes from './http/routes/tus.ts'

export interface AppOptions {
  config: Config
}

/** Fastify settings shared by the server and the tests' build(). */
export function serverOptions (config: Config): FastifyHttpOptions<Server> {
  return {
    logger: {
      level: config.logLevel,
      // API keys travel in these headers: no log line may ever carry one.
      redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie']
    },
    // The contract's paths end in "/"; clients that drop it reach the same routes.
    routerOptions: { ignoreTrailingSlash: true },
    bodyLimit: 1024 * 1024,
    // One id per request: the client's X-Request-Id when sane (core/request-id.ts), else a new
    // one; answered in X-Request-Id (http/plugins/request-id.ts), logged as requestId, carried
    // into the jobs the request creates and the worker's log lines about them.
    requestIdHeader: false,
    genReqId: request => requestIdFor(request.headers['x-request-id']),
    // One line per request (http/plugins/request-log.ts) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    // Slow and stalled clients (README, "Operations"): the headers must arrive within
    // HEADERS_TIMEOUT_MS, the whole request (headers and body, not the wait for its answer)
    // within REQUEST_TIMEOUT_MS, generous for large uploads on slow mobile links but never
    // unbounded; Node answers 408 and closes. Node checks both every connectionsCheckingInterval.
    http: {
      headersTimeout: config.server.headersTimeoutMs,
      connectionsCheckingInterval: Math.min(5000, Math.ceil(config.server.headersTimeoutMs / 2))
    },
    requestTimeout: config.server.requestTimeoutMs,
    // Keep-alive connections are recycled after this many requests (0: never).
    maxRequestsPerSocket: config.server.maxRequestsPerSocket,
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
  // MAX_CONNECTIONS: connections beyond it are closed as they arrive (0: no limit).
  if (config.server.maxConnections > 0) fastify.server.maxConnections = config.server.maxConnections
  // First, so that every request is measured, even one refused by a later hook.
  await fastify.register(metrics)
  await fastify.register(requestLog)
  await fastify.register(requestId)
  await fastify.register(errorHandler)
  // Overload: 503 with Retry-After before any work is done (PRESSURE_* settings).
  await fastify.register(loadShedding)
  await fastify.register(cors)
  await fastify.register(swagger)
  await fastify.register(database)
  await fastify.register(storage)
  await fastify.register(staging)
  await fastify.register(uploadQueue)
  await fastify.register(variantQueue)
  // ExifTool processes for the uploads' location removal (http/uploads/strip-location.ts).
  await fastify.register(exiftool)
  await fastify.register(dropboxSync)
  await fastify.register(apiKeys)
  // Every /api route: who the client is (API_AUTH), then its rate limits; before any body is read.
  await fastify.register(apiAuth)
  await fastify.register(rateLimits)

  await fastify.register(uploadRoutes)
  // Resumable uploads (tus 1.0) at /api/tus/, into the same pipeline.
  await fastify.register(tusRoutes)
  await fastify.register(getPhoneRoutes)
  await fastify.register(uploadStatusRoutes)
  // The stable image URLs (/i/...): public, outside /api.
  await fastify.register(imageRoutes)
  await fastify.register(healthRoutes)
  await fastify.register(metricsRoutes)
  await fastify.register(rootRoutes)
  if (config.storage === 'local') await fastify.register(filesRoutes)
  // Dropbox's change notifications, while the Dropbox sync is on.
  if (config.dropbox && config.dropbox.syncIntervalMs > 0) await fastify.register(dropboxWebhookRoutes)
  // The operators' panel, in a scope of its own (sessions, HTML errors); ADMIN_ENABLED=false leaves it out.
  if (config.admin.enabled) await fastify.register(admin, { prefix: '/admin' })
}
