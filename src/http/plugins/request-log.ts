import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyRequest {
    /** The message an error answer gave (error-handler.ts), logged with the request's line. */
    failureReason: string | undefined
  }
}

// One log line per request, when it ends: what was asked, what was answered, how long it took,
// and for an error why. (Fastify's own logging writes two lines per request; at upload rates
// that is measurable.)
export default fp(async (fastify) => {
  fastify.decorateRequest('failureReason', undefined)
  fastify.addHook('onResponse', async (request, reply) => {
    request.log.info({
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      remoteAddress: request.ip,
      ...(request.failureReason === undefined ? {} : { reason: request.failureReason })
    }, 'request')
  })
}, { name: 'request-log' })
