import { Queue, QueueEvents } from 'bullmq'
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import { JobWaiter } from '../queue/job-waiter.ts'
import { blockingConnection, producerConnection } from '../queue/redis.ts'
import { UPLOAD_QUEUE, type UploadJobData, type UploadJobResult } from '../queue/upload-jobs.ts'

declare module 'fastify' {
  interface FastifyInstance {
    uploadQueue: {
      queue: Queue<UploadJobData, UploadJobResult>
      waiter: JobWaiter
      /** The producer's connection, for health checks. */
      redis: Redis
    }
  }
}

export default fp(async (fastify) => {
  const { redisUrl, queuePrefix: prefix } = fastify.config
  const redis = producerConnection(redisUrl)
  const queue = new Queue<UploadJobData, UploadJobResult>(UPLOAD_QUEUE, { connection: redis, prefix })
  const eventsConnection = blockingConnection(redisUrl, 'api-events')
  const events = new QueueEvents(UPLOAD_QUEUE, { connection: eventsConnection, prefix })
  // Errors are retried by ioredis; log them instead of crashing on an unhandled 'error' event.
  queue.on('error', err => fastify.log.warn({ err }, 'upload queue connection error'))
  events.on('error', err => fastify.log.warn({ err }, 'queue events connection error'))
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()])
  const waiter = new JobWaiter(queue, events)

  fastify.decorate('uploadQueue', { queue, waiter, redis })
  fastify.addHook('onClose', async () => {
    waiter.close()
    await Promise.all([events.close(), queue.close()])
    // BullMQ leaves connections it was given open; they are ours to close.
    redis.disconnect()
    eventsConnection.disconnect()
  })
}, { name: 'upload-queue', dependencies: ['config'] })
