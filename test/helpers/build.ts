import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { pino } from 'pino'
import app, { serverOptions } from '../../src/app.ts'
import type { Config } from '../../src/config.ts'
import { startUploadWorker, type RunningWorker } from '../../src/worker/start-worker.ts'

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
