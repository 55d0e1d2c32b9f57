import fp from 'fastify-plugin'

// Every answer says which request it was (app.ts's genReqId: the client's sane X-Request-Id, or
// a new one), including answers written by something other than Fastify (tus's, on the raw
// response) and Node's own: set on the raw response before anything is written.
export default fp(async (fastify) => {
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.raw.setHeader('x-request-id', request.id)
    done()
  })
}, { name: 'request-id' })
