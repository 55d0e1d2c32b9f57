import { randomUUID } from 'node:crypto'
import { Queue } from 'bullmq'
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import { IdempotencyStore } from '../queue/idempotency-store.ts'
import { JobWaiter } from '../queue/job-waiter.ts'
import { closeWithin, isRedisUnavailable, producerConnection, subscriberConnection } from '../queue/redis.ts'
import { resultsChannel, UPLOAD_EVENTS_MAX_LEN, UPLOAD_QUEUE, type UploadJobData, type UploadJobResult } from '../queue/upload-jobs.ts'
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
      /** This process's id, random at start: its jobs carry it, and their outcomes come back to it alone. */
      instance: string
      /** Where the workers publish this process's outcomes, and the connection subscribed to it. */
      results: { channel: string, subscriber: Redis }
    }
  }
}

const SHUTDOWN_GRACE_MS = 5000

export default fp(async (fastify) => {
  const { redisUrl, queuePrefix: prefix } = fastify.config
  const onError = (err: Error): void => { fastify.log.warn({ err: err.message }, 'redis connection error') }
  const redis = producerConnection(redisUrl, 'api', onError)
  const queue = new Queue<UploadJobData, UploadJobResult>(UPLOAD_QUEUE, { connection: redis, prefix, streams: { events: { maxLen: UPLOAD_EVENTS_MAX_LEN } } })
  const onQueueError = (err: Error): void => { if (!isRedisUnavailable(err)) fastify.log.warn({ err }, 'upload queue error') }
  queue.on('error', onQueueError)
  // Outcomes come on this process's own channel (the workers publish each job's to the process
  // that queued it), not from the queue's event stream, which every API process would read whole.
  const instance = randomUUID()
  const channel = resultsChannel(prefix, instance)
  const subscriber = subscriberConnection(redisUrl, `api-results-${instance.slice(0, 8)}`, onError)
  await Promise.all([queue.waitUntilReady(), subscriber.subscribe(channel)])
  const { worker, upload } = fastify.config
  const recovery = { images: fastify.db.images, storage: fastify.storage, queue, staging: fastify.staging, attempts: worker.attempts, log: fastify.log }
  const find = (uploadId: string): Promise<KnownUpload | undefined> => findUpload(recovery, uploadId)
  const waiter = new JobWaiter(queue, {
    recover: async jobId => (await findUpload(recovery, jobId, { jobKnownMissing: true }))?.outcome
  })
  subscriber.on('message', (from: string, message: string) => { if (from === channel) waiter.receive(message) })
  const idempotency = new IdempotencyStore(redis, prefix, upload.idempotencyTtlSeconds)

  fastify.decorate('uploadQueue', { queue, waiter, redis, idempotency, find, instance, results: { channel, subscriber } })
  // On shutdown, requests still waiting for workers answer 202 after a short grace instead of
  // holding the process until their full wait ends; their jobs carry on in the workers.
  fastify.addHook('preClose', async () => {
    setTimeout(() => waiter.close(), SHUTDOWN_GRACE_MS).unref()
  })
  fastify.addHook('onClose', async () => {
    waiter.close()
    if (!await closeWithin(5000, () => queue.close())) {
      fastify.log.warn('Redis unreachable: upload queue closed without waiting for it')
    }
    // BullMQ leaves connections it was given open; they are ours to close.
    redis.disconnect()
    subscriber.disconnect()
  })
}, { name: 'upload-queue', dependencies: ['config', 'database', 'storage', 'staging'] })
