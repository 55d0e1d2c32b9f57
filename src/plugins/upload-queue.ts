import { Queue, QueueEvents } from 'bullmq'
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import { IdempotencyStore } from '../queue/idempotency-store.ts'
import { JobWaiter } from '../queue/job-waiter.ts'
import { blockingConnection, closeWithin, isRedisUnavailable, producerConnection } from '../queue/redis.ts'
import { UPLOAD_QUEUE, type UploadJobData, type UploadJobResult } from '../queue/upload-jobs.ts'
import { findUpload, type KnownUpload } from './upload-recovery.ts'

declare module 'fastify' {
  interface FastifyInstance {
    uploadQueue: {
      queue: Queue<UploadJobData, UploadJobResult>
      waiter: JobWaiter
      idempotency: IdempotencyStore
      /** Where an upload stands (record, job or manifest); re-queues a job Redis lost. */
      find: (uploadId: string) => Promise<KnownUpload | undefined>
      /** The producer's connection, for health checks. */
      redis: Redis
    }
  }
}

const SHUTDOWN_GRACE_MS = 5000

export default fp(async (fastify) => {
  const { redisUrl, queuePrefix: prefix } = fastify.config
  const onError = (err: Error): void => { fastify.log.warn({ err: err.message }, 'redis connection error') }
  const redis = producerConnection(redisUrl, 'api', onError)
  const queue = new Queue<UploadJobData, UploadJobResult>(UPLOAD_QUEUE, { connection: redis, prefix })
  const eventsConnection = blockingConnection(redisUrl, 'api-events', onError)
  const events = new QueueEvents(UPLOAD_QUEUE, { connection: eventsConnection, prefix })
  const onQueueError = (err: Error): void => { if (!isRedisUnavailable(err)) fastify.log.warn({ err }, 'upload queue error') }
  queue.on('error', onQueueError)
  events.on('error', onQueueError)
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()])
  const { stagingDir, worker, upload } = fastify.config
  const recovery = { images: fastify.db.images, storage: fastify.storage, queue, stagingDir, attempts: worker.attempts, log: fastify.log }
  const find = (uploadId: string): Promise<KnownUpload | undefined> => findUpload(recovery, uploadId)
  const waiter = new JobWaiter(queue, events, {
    recover: async jobId => (await findUpload(recovery, jobId, { jobKnownMissing: true }))?.outcome
  })
  const idempotency = new IdempotencyStore(redis, prefix, upload.idempotencyTtlSeconds)

  fastify.decorate('uploadQueue', { queue, waiter, redis, idempotency, find })
  // On shutdown, requests still waiting for workers answer 202 after a short grace instead of
  // holding the process until their full wait ends; their jobs carry on in the workers.
  fastify.addHook('preClose', async () => {
    setTimeout(() => waiter.close(), SHUTDOWN_GRACE_MS).unref()
  })
  fastify.addHook('onClose', async () => {
    waiter.close()
    if (!await closeWithin(5000, () => Promise.all([events.close(), queue.close()]))) {
      fastify.log.warn('Redis unreachable: upload queue closed without waiting for it')
    }
    // BullMQ leaves connections it was given open; they are ours to close.
    redis.disconnect()
    eventsConnection.disconnect()
  })
}, { name: 'upload-queue', dependencies: ['config', 'database', 'storage'] })
