import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'

const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  redis: Type.Boolean(),
  mongodb: Type.Boolean(),
  storage: Type.String()
})

// For load balancers and container health checks: 200 when Redis and MongoDB answer, else 503.
const healthRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/health', {
    schema: { summary: 'Readiness of the API and its dependencies', tags: ['operations'], response: { 200: Health, 503: Health } },
    logLevel: 'warn'
  }, async (_request, reply) => {
    const [redis, mongodb] = await Promise.all([
      fastify.uploadQueue.redis.ping().then(() => true, () => false),
      fastify.db.connection.db?.admin().ping().then(() => true, () => false) ?? false
    ])
    const ok = redis && mongodb
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', redis, mongodb, storage: fastify.storage.kind })
  })
}

export default healthRoutes
