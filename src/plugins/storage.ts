import fp from 'fastify-plugin'
import { batchObservers, instrumentStorage } from '../runtime/metrics.ts'
import { createStorage } from '../storage/index.ts'
import type { Storage } from '../storage/storage.ts'

declare module 'fastify' {
  interface FastifyInstance {
    storage: Storage
  }
}

export default fp(async (fastify) => {
  // Every call counted and timed for /metrics (plugins/metrics.ts).
  const metrics = fastify.metrics.storage
  const observers = batchObservers(metrics, fastify.config.storage)
  const storage = instrumentStorage(createStorage(fastify.config, {
    onRateLimited: (_ms, reason) => { observers.onRateLimitedReason(reason) },
    onBatchCommitted: observers.onBatchCommitted
  }), metrics)
  fastify.decorate('storage', storage)
  fastify.addHook('onClose', async () => { await storage.close() })
}, { name: 'storage', dependencies: ['config', 'metrics'] })
