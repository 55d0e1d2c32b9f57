import fp from 'fastify-plugin'
import { createStorage } from '../storage/index.ts'
import type { Storage } from '../storage/storage.ts'

declare module 'fastify' {
  interface FastifyInstance {
    storage: Storage
  }
}

export default fp(async (fastify) => {
  const storage = createStorage(fastify.config)
  fastify.decorate('storage', storage)
  fastify.addHook('onClose', async () => { await storage.close() })
}, { name: 'storage', dependencies: ['config'] })
