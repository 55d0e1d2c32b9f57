import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** OpenAPI description of a streamed multipart body, which must not be a validated schema. */
    multipartBody?: Record<string, unknown>
  }
}

export const OPENAPI_INFO = {
  title: 'Image Upload API',
  version: '1.0.0',
  description: 'Upload images for a phone number to Dropbox (or local disk) and look them up again.'
}

export default fp(async (fastify) => {
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: OPENAPI_INFO,
      tags: [{ name: 'images', description: 'Upload and look up images' }, { name: 'operations', description: 'Health' }]
    },
    hideUntagged: true,
    transform: ({ schema, url, route }) => {
      const multipartBody = route.config?.multipartBody
      if (!multipartBody) return { schema, url }
      return { schema: { ...schema, body: multipartBody }, url }
    }
  })
  await fastify.register(swaggerUi, { routePrefix: '/docs' })
}, { name: 'swagger' })
