import Fastify from 'fastify'
import fp from 'fastify-plugin'
import app, { serverOptions } from './app.ts'
import { ConfigError, loadConfig } from './config.ts'

const SHUTDOWN_DEADLINE_MS = 30_000

async function main (): Promise<void> {
  const config = loadConfig()
  const server = Fastify(serverOptions(config))
  let closing = false
  // Once closing, responses end their connection: a keep-alive socket that falls idle after
  // close() began would otherwise hold the process open until its keep-alive timeout.
  server.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close')
  })
  await server.register(fp(app), { config })

  const shutdown = (signal: string): void => {
    if (closing) return
    closing = true
    server.log.info({ signal }, 'shutting down: finishing in-flight requests')
    // Whatever holds it open (a client that never finishes sending), a stopping API stops.
    setTimeout(() => {
      server.log.error('shutdown took too long; exiting')
      process.exit(1)
    }, SHUTDOWN_DEADLINE_MS).unref()
    // Stop accepting, finish in-flight requests, then close plugins (queue, database) in order.
    server.close().then(() => process.exit(0), (err: unknown) => {
      server.log.error({ err }, 'error while closing')
      process.exit(1)
    })
  }
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)

  await server.listen({ port: config.port, host: config.host })
  server.log.info({ storage: config.storage, publicBaseUrl: config.publicBaseUrl, docs: `${config.publicBaseUrl}/docs` }, 'image upload API ready')
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(err.message)
  } else {
    console.error('API failed to start:', err)
  }
  process.exit(1)
})
