// A TCP proxy that plays a flaky mobile link, for the resumable-upload tests and benchmark: it
// forwards bytes both ways (the clients' at a given bandwidth, if asked) and cuts the connection
// that carries the clients' bytes past given points (every N bytes the clients send, counted over
// the proxy's whole life), the way a phone loses its link mid-upload. It counts what the clients
// sent, which is what a phone pays for.
import { createServer, connect, type Server, type Socket } from 'node:net'
import { once } from 'node:events'

export interface FlakyProxyOptions {
  target: { host: string, port: number }
  /** Cut the connection each time the clients' bytes pass another multiple of this (0: never). */
  cutEveryBytes?: number
  /** Or cut once at each of these totals of the clients' bytes (ascending). */
  cutAtBytes?: number[]
  /** The link's upstream bandwidth, per connection (0 or unset: as fast as the machine goes). */
  bytesPerSecond?: number
}

export interface FlakyProxyStats {
  /** Bytes the clients sent through the proxy (requests, headers included, cut ones too). */
  clientBytes: number
  /** Bytes the server sent back. */
  serverBytes: number
  connections: number
  cuts: number
}

export interface FlakyProxy {
  url: string
  port: number
  stats: () => FlakyProxyStats
  close: () => Promise<void>
}

export async function startFlakyProxy (options: FlakyProxyOptions): Promise<FlakyProxy> {
  const stats: FlakyProxyStats = { clientBytes: 0, serverBytes: 0, connections: 0, cuts: 0 }
  const every = options.cutEveryBytes ?? 0
  const points = [...options.cutAtBytes ?? []]
  let nextCut = points.length > 0 ? points.shift()! : every > 0 ? every : Number.POSITIVE_INFINITY
  const advance = (): void => {
    nextCut = points.length > 0 ? points.shift()! : every > 0 ? nextCut + every : Number.POSITIVE_INFINITY
  }
  const sockets = new Set<Socket>()

  const server: Server = createServer(client => {
    stats.connections++
    const upstream = connect(options.target.port, options.target.host)
    sockets.add(client).add(upstream)
    const drop = (): void => { client.destroy(); upstream.destroy() }
    client.on('close', () => { sockets.delete(client); upstream.end() })
    upstream.on('close', () => { sockets.delete(upstream); client.destroy() })
    client.on('error', drop)
    upstream.on('error', drop)

    // Pacing: the connection's bytes may not run ahead of the bandwidth's schedule.
    const rate = options.bytesPerSecond ?? 0
    const startedAt = Date.now()
    let forwarded = 0
    let paced = false
    const pace = (): void => {
      if (rate <= 0) return
      const ahead = startedAt + forwarded / rate * 1000 - Date.now()
      if (ahead <= 1) return
      paced = true
      client.pause()
      setTimeout(() => { paced = false; client.resume() }, ahead).unref()
    }

    client.on('data', (chunk: Buffer) => {
      const before = stats.clientBytes
      stats.clientBytes += chunk.length
      if (stats.clientBytes < nextCut) {
        forwarded += chunk.length
        if (!upstream.write(chunk)) client.pause()
        pace()
        return
      }
      // The link goes down here: what came before the cut reaches the server, the rest is lost,
      // and the client sees its connection die.
      upstream.end(chunk.subarray(0, Math.max(0, nextCut - before)))
      client.destroy()
      stats.cuts++
      advance()
    })
    upstream.on('drain', () => { if (!paced) client.resume() })
    upstream.on('data', (chunk: Buffer) => {
      stats.serverBytes += chunk.length
      if (!client.write(chunk)) upstream.pause()
    })
    client.on('drain', () => upstream.resume())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as { port: number }).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats: () => ({ ...stats }),
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}
