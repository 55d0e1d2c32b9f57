import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { pino } from 'pino'
import app, { serverOptions } from '../../src/app.ts'
import type { Config } from '../../src/config.ts'
import { startUploadWorker, type RunningWorker } from '../../src/worker/start-worker.ts'
import { startVariantWorker as startVariants, type RunningVariantWorker } from '../../src/worker/variants/start-variant-worker.ts'

interface Teardown {
  teardown: (fn: () => unknown) => void
}

/** The app as the server builds it, ready for inject(); closed at teardown. */
export async function build (t: Teardown, config: Config): Promise<FastifyInstance> {
  const server = Fastify(serverOptions(config))
  await server.register(fp(app), { config })
  await server.ready()
  t.teardown(() => server.close())
  return server
}

/** An upload worker in this process, as `npm run worker` starts it; closed at teardown. */
export async function startWorker (t: Teardown, config: Config): Promise<RunningWorker> {
  const running = await startUploadWorker(config, pino({ level: config.logLevel }))
  t.teardown(() => running.close())
  return running
}

/** A variant worker in this process, as `npm run variant-worker` starts it; closed at teardown. */
export async function startVariantWorker (t: Teardown, config: Config): Promise<RunningVariantWorker> {
  const running = await startVariants(config, pino({ level: config.logLevel }))
  t.teardown(() => running.close())
  return running
}
