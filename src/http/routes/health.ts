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
    schema: {
      operationId: 'getHealth',
      summary: 'Readiness of the API and its dependencies',
      description: '200 when Redis and MongoDB answer, else 503 (the body says which is down). For load balancers and container health checks.',
      tags: ['operations'],
      response: {
        200: {
          description: 'Redis and MongoDB answer.',
          content: { 'application/json': { schema: Health, example: { status: 'ok' as const, redis: true, mongodb: true, storage: 'dropbox' } } }
        },
        503: {
          description: 'Redis or MongoDB does not answer.',
          content: { 'application/json': { schema: Health, example: { status: 'degraded' as const, redis: false, mongodb: true, storage: 'dropbox' } } }
        }
      }
    },
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
