import fp from 'fastify-plugin'
import { sweepScratch } from '../staging/scratch.ts'
import { openStagingArea, type StagingArea } from '../staging/staging-area.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Where accepted files wait for a worker (STAGING: the directory, or an S3 bucket). */
    staging: StagingArea
  }
}

const SCRATCH_SWEEP_INTERVAL_MS = 10 * 60 * 1000

export default fp(async (fastify) => {
  const staging = await openStagingArea(fastify.config, err => { fastify.log.warn({ err }, 'S3 staging bucket not reachable at start; uploads fail until it is') })
  fastify.decorate('staging', staging)
  if (staging.kind === 's3') {
    // The API's own scratch: files of requests this process (or one before it) never finished.
    const timer = setInterval(() => {
      sweepScratch(fastify.config.stagingDir).catch(err => fastify.log.warn({ err }, 'scratch sweep failed'))
    }, SCRATCH_SWEEP_INTERVAL_MS).unref()
    fastify.addHook('onClose', async () => { clearInterval(timer) })
  }
  fastify.addHook('onClose', async () => { await staging.close() })
}, { name: 'staging', dependencies: ['config'] })
