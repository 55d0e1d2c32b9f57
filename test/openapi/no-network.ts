// Preloaded (`node --import`) into a tool a test runs, to prove it works offline: every attempt
// to reach the network (a DNS lookup, a TCP connection) is refused and reported on stderr after
// NETWORK_ATTEMPT. Local IPC (Unix sockets, pipes) is left alone.
import dns from 'node:dns'
import net from 'node:net'

export const NETWORK_ATTEMPT = 'NETWORK ATTEMPT:'

function refuse (what: string): Error {
  process.stderr.write(`${NETWORK_ATTEMPT} ${what}\n`)
  return new Error(`network access refused (${what})`)
}

const connect = net.Socket.prototype.connect
net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
  const [target] = args
  const path = typeof target === 'object' && target !== null && 'path' in target ? target.path : undefined
  if (typeof path === 'string' || (typeof target === 'string' && !/^\d+$/.test(target))) {
    return (connect as (...a: unknown[]) => net.Socket).apply(this, args)
  }
  const where = typeof target === 'object' && target !== null && 'port' in target
    ? `${String((target as { host?: unknown }).host ?? 'localhost')}:${String(target.port)}`
    : String(target)
  throw refuse(`connect ${where}`)
} as typeof connect

for (const name of ['lookup', 'resolve', 'resolve4', 'resolve6', 'resolveAny'] as const) {
  Object.defineProperty(dns, name, { value: (host: unknown) => { throw refuse(`dns.${name} ${String(host)}`) } })
  Object.defineProperty(dns.promises, name, { value: async (host: unknown) => { throw refuse(`dns.promises.${name} ${String(host)}`) } })
}
