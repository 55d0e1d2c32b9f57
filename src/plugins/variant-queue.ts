import { Queue } from 'bullmq'
import fp from 'fastify-plugin'
import { closeWithin, isRedisUnavailable } from '../queue/redis.ts'
import { enqueueVariants, VARIANT_QUEUE, type VariantJobData, type VariantJobResult, type VariantQueue } from '../queue/variant-jobs.ts'

declare module 'fastify' {
  interface FastifyInstance {
    variantQueue: {
      /** The variants queue (produce only; the admin's dashboard shows it). */
      queue: VariantQueue
      /**
       * Asks for an image's renderings, when its record has none yet (an image stored before
       * variants existed, or whose job was lost): queued once (the job id is the upload id), and
       * asked again at most every REQUEST_INTERVAL_MS per process however often its URL is hit.
       */
      request: (uploadId: string) => Promise<void>
    }
  }
}

const REQUEST_INTERVAL_MS = 30_000
const REMEMBERED = 10_000

export default fp(async (fastify) => {
  const { queuePrefix: prefix, variants, worker } = fastify.config
  // The upload queue's producer connection: fail-fast, so a Redis outage never holds a request.
  const queue = new Queue<VariantJobData, VariantJobResult>(VARIANT_QUEUE, { connection: fastify.uploadQueue.redis, prefix })
  queue.on('error', (err: Error) => { if (!isRedisUnavailable(err)) fastify.log.warn({ err }, 'variants queue error') })
  const asked = new Map<string, number>()

  const request = async (uploadId: string): Promise<void> => {
    if (!variants.enabled) return
    const now = Date.now()
    if ((asked.get(uploadId) ?? 0) > now - REQUEST_INTERVAL_MS) return
    asked.set(uploadId, now)
    // Oldest first in a Map: forget the oldest when too many are remembered.
    if (asked.size > REMEMBERED) asked.delete(asked.keys().next().value!)
    await enqueueVariants(queue, [uploadId], worker.attempts, { retryFailed: true })
  }
  fastify.decorate('variantQueue', { queue, request })
  fastify.addHook('onClose', async () => {
    await closeWithin(5000, () => queue.close())
  })
}, { name: 'variant-queue', dependencies: ['config', 'upload-queue'] })
