import type { FastifyPluginAsync } from 'fastify'
import { bearerMatches } from '../../runtime/metrics.ts'
import { quietLogLevel } from './health.ts'

/**
 * GET /metrics: the API process's Prometheus metrics (plugins/metrics.ts). With METRICS_TOKEN
 * set, only a scrape that sends `Authorization: Bearer <METRICS_TOKEN>` gets them. Not part of
 * the public API's documentation: it is for the operators' Prometheus (README, "Operations").
 */
const metricsRoutes: FastifyPluginAsync = async (fastify) => {
  const { token } = fastify.config.metrics
  fastify.get('/metrics', { schema: { hide: true }, logLevel: quietLogLevel(fastify.config.logLevel) }, async (request, reply) => {
    if (token !== undefined && !bearerMatches(request.headers.authorization, token)) {
      request.failureReason = 'metrics: missing or wrong bearer token'
      return reply.code(401).header('www-authenticate', 'Bearer realm="metrics"')
        .send({ message: 'The metrics need a token: send Authorization: Bearer <METRICS_TOKEN>.' })
    }
    const { registry } = fastify.metrics
    const body = await registry.metrics()
    return reply.type(registry.contentType).header('cache-control', 'no-store').send(body)
  })
}

export default metricsRoutes
