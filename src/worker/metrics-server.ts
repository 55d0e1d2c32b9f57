import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { bearerMatches } from '../runtime/metrics.ts'

export interface MetricsServer {
  /** Where it listens (the port, when WORKER_METRICS_PORT was taken as given). */
  address: AddressInfo
  close: () => Promise<void>
}

/**
 * The worker's metrics for Prometheus: GET /metrics on HOST:WORKER_METRICS_PORT, behind
 * METRICS_TOKEN as the API's. A worker has no HTTP server otherwise, so this one is small and
 * answers nothing else. A port already taken stops the worker at start with a message saying so
 * (two workers on one machine need a port each).
 */
export async function startMetricsServer (registry: Registry, options: { host: string, port: number, token: string | undefined, logger: Logger }): Promise<MetricsServer> {
  const { token, logger } = options
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0]
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ message: 'Only GET /metrics is served here.' }))
      return
    }
    if (token !== undefined && !bearerMatches(request.headers.authorization, token)) {
      response.writeHead(401, { 'content-type': 'application/json; charset=utf-8', 'www-authenticate': 'Bearer realm="metrics"' })
        .end(JSON.stringify({ message: 'The metrics need a token: send Authorization: Bearer <METRICS_TOKEN>.' }))
      return
    }
    registry.metrics().then(
      body => { response.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(body) },
      (err: unknown) => {
        logger.warn({ err }, 'metrics could not be collected')
        response.writeHead(500, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ message: 'Metrics could not be collected.' }))
      })
  })
  // A scrape is small and quick: nothing may hold this server open for long.
  server.headersTimeout = 10_000
  server.requestTimeout = 10_000
  server.keepAliveTimeout = 30_000
  server.listen(options.port, options.host)
  try {
    await once(server, 'listening')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`WORKER_METRICS_PORT ${options.port} is in use on ${options.host}: give each worker on this machine a port of its own, or 0 for no metrics server`, { cause: err })
    }
    throw err
  }
  return {
    address: server.address() as AddressInfo,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}
