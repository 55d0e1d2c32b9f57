// Starts the local Redis and FerretDB that the dev launcher, the test runner and the benchmarks
// use when REDIS_URL / MONGODB_URL are not given. Each runs as a child process on a free port,
// with its data under a directory the caller chooses.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export const ROOT = resolve(import.meta.dirname, '../..')

/**
 * How the API and the workers are run everywhere (package.json, the dev launcher, the image,
 * the benchmarks). A 2 MiB young generation is collected often enough that the Buffers of a
 * streamed upload are freed as they go: without it a 1 GiB upload took the API to 250 MiB of
 * RSS, with it 175 MiB, at no measurable cost in throughput (BENCHMARKS.md).
 */
export const SERVICE_NODE_FLAGS = ['--max-semi-space-size=2']

export interface Service {
  name: string
  url: string
  process: ChildProcess
  stop: () => Promise<void>
}

export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise(resolve => server.close(resolve))
  return port
}

async function waitForPort (port: number, child: ChildProcess, name: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode} while starting`)
    const open = await new Promise<boolean>(resolve => {
      const socket = connect(port, '127.0.0.1', () => { socket.end(); resolve(true) })
      socket.on('error', () => resolve(false))
    })
    if (open) return
    await sleep(50)
  }
  throw new Error(`${name} did not listen on port ${port} within ${timeoutMs} ms`)
}

function stopper (child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.kill('SIGTERM')
    const killed = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)])
    if (!killed) child.kill('SIGKILL')
  }
}

async function start (name: string, command: string, args: string[], port: number, url: string, quiet: boolean): Promise<Service> {
  // Own process group: a Ctrl-C in the terminal reaches the API and workers, which stop
  // gracefully, and the databases are stopped after them, not at the same moment.
  const child = spawn(command, args, { stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'], detached: true })
  // Never outlive the launcher, even when it dies without cleaning up.
  process.once('exit', () => { if (child.exitCode === null) child.kill('SIGKILL') })
  child.on('error', err => { console.error(`${name} failed to start: ${err.message}`) })
  await waitForPort(port, child, name)
  return { name, url, process: child, stop: stopper(child) }
}

/**
 * Redis on a free port: in memory only, or, given `dataDir`, with an append-only file there so
 * queued jobs survive a restart.
 */
export async function startRedis (options: { dataDir?: string, port?: number, quiet?: boolean } = {}): Promise<Service> {
  const port = options.port ?? await freePort()
  const persistence = options.dataDir
    ? ['--dir', await mkdirp(join(options.dataDir, 'redis')), '--appendonly', 'yes', '--save', '']
    : ['--save', '', '--appendonly', 'no']
  return start('redis', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', ...persistence, '--loglevel', 'warning'],
    port, `redis://127.0.0.1:${port}`, options.quiet ?? true)
}

async function mkdirp (dir: string): Promise<string> {
  await mkdir(dir, { recursive: true })
  return dir
}

/** FerretDB on SQLite files under `dataDir`, reached as database `dbName`. */
export async function startFerretDB (dataDir: string, dbName: string, options: { port?: number, quiet?: boolean } = {}): Promise<Service> {
  const port = options.port ?? await freePort()
  const dir = await mkdirp(join(dataDir, 'ferretdb'))
  return start('ferretdb', join(ROOT, '.local/bin/ferretdb'), [`--listen-addr=127.0.0.1:${port}`, `--sqlite-url=file:${dir}/`, '--log-level=error'],
    port, `mongodb://127.0.0.1:${port}/${dbName}`, options.quiet ?? true)
}
