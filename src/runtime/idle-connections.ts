import type { Server } from 'node:http'
import type { Socket } from 'node:net'

export interface ConnectionDrain {
  /**
   * From now on no connection is kept without a request in flight: idle ones are closed at once,
   * busy ones as soon as their last response is sent, new ones as they arrive.
   */
  drain: () => void
}

/**
 * Lets a stopping server close the connections that hold no request, so that it exits in
 * moments instead of when the last client hangs up. server.close() (and Fastify's
 * forceCloseConnections: 'idle') only closes keep-alive connections that have finished a request:
 * a connection opened but not yet used - a browser's preconnect, a client's pool warming up, half
 * a request line - counts as busy in Node, and held a stopping API open until the shutdown
 * deadline (30 s). Here a connection is busy only while a request on it has no finished response.
 */
export function trackConnections (server: Server): ConnectionDrain {
  const inFlight = new Map<Socket, number>()
  let draining = false

  server.on('connection', (socket: Socket) => {
    if (draining) {
      socket.destroy()
      return
    }
    inFlight.set(socket, 0)
    socket.once('close', () => inFlight.delete(socket))
  })
  server.on('request', (request, response) => {
    const socket = request.socket
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1)
    response.once('close', () => {
      if (!inFlight.has(socket)) return
      const left = inFlight.get(socket)! - 1
      inFlight.set(socket, left)
      // The response is written: end the connection once it has gone out.
      if (draining && left === 0) socket.destroySoon()
    })
  })

  return {
    drain: () => {
      draining = true
      for (const [socket, requests] of inFlight) if (requests === 0) socket.destroy()
    }
  }
}
