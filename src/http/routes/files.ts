import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'

// Where local storage's image_url points. Registered only with local storage. A route with two
// params, rather than a static prefix, because the router decodes params fully: file names hold
// ':' (the timestamp) and may hold other reserved characters.
const filesRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const root = fastify.config.dataDir
  await mkdir(root, { recursive: true })
  await fastify.register(fastifyStatic, { root, serve: false, index: false, dotfiles: 'deny' })

  fastify.get('/files/:phone_number/:file_name', {
    schema: {
      hide: true,
      params: Type.Object({
        phone_number: Type.String({ pattern: '^[0-9]{1,15}$' }),
        file_name: Type.String({ minLength: 1, maxLength: 255 })
      })
    }
  }, (request, reply) => {
    const { phone_number: phoneNumber, file_name: fileName } = request.params
    // Uploaded bytes are served from the API's origin, which is also the admin's: they must
    // never be taken for anything but the image their extension says they are.
    reply.header('x-content-type-options', 'nosniff')
    reply.header('content-security-policy', "default-src 'none'; sandbox")
    // Stored names never change, so clients and proxies may cache them for good.
    return reply.sendFile(fileName, join(root, phoneNumber), { immutable: true, maxAge: '365d' })
  })
}

export default filesRoutes
