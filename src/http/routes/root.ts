import type { FastifyPluginAsync } from 'fastify'

// A person who opens the service's address in a browser lands on its documentation.
const rootRoutes: FastifyPluginAsync = async (fastify) => {
  fastify.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/docs', 302))
}

export default rootRoutes
