import fp from 'fastify-plugin'

// One log line per request, when it ends: what was asked, what was answered, how long it took.
// (Fastify's own logging writes two lines per request; at upload rates that is measurable.)
export default fp(async (fastify) => {
  fastify.addHook('onResponse', async (request, reply) => {
    request.log.info({
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      remoteAddress: request.ip
    }, 'request')
  })
}, { name: 'request-log' })
