import fp from 'fastify-plugin'
import { ApiKeyStore } from './api-key-store.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Client apps' API keys: checked by the API (http/plugins/api-auth.ts), managed in the admin. */
    apiKeys: ApiKeyStore
  }
}

export default fp(async (fastify) => {
  const apiKeys = await ApiKeyStore.open(fastify.db.connection, {
    cacheMs: fastify.config.apiAuth.keyCacheSeconds * 1000,
    onBackgroundError: err => { fastify.log.warn({ err }, 'could not record when an API key was last used') }
  })
  fastify.decorate('apiKeys', apiKeys)
}, { name: 'api-keys', dependencies: ['config', 'database'] })
