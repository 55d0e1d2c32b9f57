import Fastify from 'fastify'
import fp from 'fastify-plugin'
import app, { serverOptions } from './app.ts'
import { ConfigError, loadConfig } from './config.ts'
import { trackConnections } from './runtime/idle-connections.ts'
import { closeOnSignals } from './runtime/shutdown.ts'

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
  const connections = trackConnections(server.server)

  // Stop accepting, close connections without a request at once (idle keep-alive, or opened and
  // never used), finish in-flight requests, then close plugins (queue, database) in order.
  closeOnSignals(server.log, SHUTDOWN_DEADLINE_MS, async () => {
    closing = true
    connections.drain()
    await server.close()
  })

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
