import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'
import { COMPONENT_SCHEMAS } from '../schemas/components.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** OpenAPI description of a streamed body (multipart, tus's octet stream), which must not be a validated schema. */
    multipartBody?: Record<string, unknown>
  }
}

export const OPENAPI_INFO = {
  title: 'Image Upload API',
  version: '1.0.0',
  description: 'Upload images for a phone number to Dropbox (or local disk) and look them up again.',
  license: { name: 'MIT', identifier: 'MIT' }
}

export default fp(async (fastify) => {
  // The named response bodies, at the root so every route's $ref finds them: the serializer
  // resolves them, and the document lists them under components.schemas by their $id.
  for (const schema of COMPONENT_SCHEMAS) fastify.addSchema(schema)

  await fastify.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: OPENAPI_INFO,
      // Relative: the API is wherever this document is served from (PUBLIC_BASE_URL in production).
      servers: [{ url: '/', description: 'This service' }],
      // No operation needs credentials.
      security: [],
      tags: [
        { name: 'images', description: 'Upload images for a phone number, follow an upload, and look the images up.' },
        { name: 'resumable', description: 'Resumable uploads (tus 1.0) for large files on flaky mobile links: create, send bytes, resume from the offset.' },
        { name: 'operations', description: 'For load balancers and monitoring.' }
      ]
    },
    hideUntagged: true,
    refResolver: {
      // A component is named by its $id (`Error`, `UploadResult`...), not `def-N`.
      buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}`
    },
    transform: ({ schema, url, route }) => {
      const multipartBody = route.config?.multipartBody
      if (!multipartBody) return { schema, url }
      return { schema: { ...schema, body: multipartBody }, url }
    }
  })
  await fastify.register(swaggerUi, { routePrefix: '/docs' })
}, { name: 'swagger' })
