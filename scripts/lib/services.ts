// Starts the local Redis and FerretDB that the dev launcher, the test runner and the benchmarks
// use when REDIS_URL / MONGODB_URL are not given. Each runs as a child process on a free port
// (or the port the caller chooses), with its data under a directory the caller chooses. FerretDB
// keeps its data in a PostgreSQL of its own (postgres.ts), or with EMBEDDED_DB=sqlite in SQLite files.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseEnv } from 'node:util'

import { startPostgres, type PostgresServer } from './postgres.ts'
import { ROOT } from './spawn.ts'

// The root and the node flags of the API and workers are defined once, with the spawn helper.
export { ROOT, SERVICE_NODE_FLAGS } from './spawn.ts'

export interface Service {
  name: string
  url: string
  process: ChildProcess
  stop: () => Promise<void>
  /** FerretDB's PostgreSQL, started and stopped with it (EMBEDDED_DB=postgresql). */
  postgres?: PostgresServer
}

export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise(resolve => server.close(resolve))
  return port
}

/**
 * Fails, with a message naming the setting to change, when another program already listens on
 * `port` (any interface: the services bind 127.0.0.1, which a wildcard listener also takes).
 */
export async function assertPortFree (port: number, what: string, setting: string): Promise<void> {
  const server = createServer()
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', resolve)
    })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err
    throw new Error(`port ${port} (${what}) is in use by another program: set ${setting} to a free port (in the environment or .env), e.g. ${setting}=${port + 100}`)
  } finally {
    await new Promise(resolve => server.close(resolve))
  }
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
    // An unref'd timer: a process that stopped its databases may exit before it runs out.
    const killed = await Promise.race([exited.then(() => true), sleep(5000, undefined, { ref: false }).then(() => false)])
    if (!killed) child.kill('SIGKILL')
  }
}

async function start (name: string, command: string, args: string[], port: number, url: string, quiet: boolean): Promise<Service> {
  // Own process group: a Ctrl-C in the terminal does not reach the databases, which are stopped
  // after the processes using them (the API and workers, the tests), not at the same moment.
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

/** What the embedded FerretDB keeps its data in. */
export type EmbeddedDb = 'postgresql' | 'sqlite'

/**
 * EMBEDDED_DB: 'postgresql' (the default: lookups by phone number in tens of milliseconds at
 * 100,000 records) or 'sqlite' (FerretDB's other backend, which scans: seconds at that size).
 */
export function embeddedDb (env: NodeJS.ProcessEnv = process.env): EmbeddedDb {
  const value = env.EMBEDDED_DB ?? ''
  if (value === '' || value === 'postgresql') return 'postgresql'
  if (value === 'sqlite') return 'sqlite'
  throw new Error(`EMBEDDED_DB must be 'postgresql' (the default) or 'sqlite', not '${value}'`)
}

export interface FerretDBOptions {
  port?: number
  quiet?: boolean
  /** Default: EMBEDDED_DB of the environment. */
  backend?: EmbeddedDb
  /** PostgreSQL's port (default: a free one). */
  postgresPort?: number
  /** false for throw-away data (the tests): PostgreSQL without fsync and synchronous commits. */
  durable?: boolean
}

/**
 * FerretDB reached as database `dbName`, on its own PostgreSQL with the cluster in
 * `dataDir`/postgres (stopped with it), or with EMBEDDED_DB=sqlite on SQLite files in
 * `dataDir`/ferretdb.
 */
export async function startFerretDB (dataDir: string, dbName: string, options: FerretDBOptions = {}): Promise<Service> {
  const port = options.port ?? await freePort()
  const url = `mongodb://127.0.0.1:${port}/${dbName}`
  const binary = join(ROOT, '.local/bin/ferretdb')
  const args = [`--listen-addr=127.0.0.1:${port}`, '--log-level=error']
  if ((options.backend ?? embeddedDb()) === 'sqlite') {
    const dir = await mkdirp(join(dataDir, 'ferretdb'))
    return start('ferretdb', binary, [...args, `--sqlite-url=file:${dir}/`], port, url, options.quiet ?? true)
  }
  const postgres = await startPostgres(dataDir, { port: options.postgresPort ?? await freePort(), durable: options.durable ?? true })
  let ferret: Service
  try {
    ferret = await start('ferretdb', binary, [...args, `--postgresql-url=${postgres.url}`], port, url, options.quiet ?? true)
  } catch (err) {
    await postgres.stop()
    throw err
  }
  return {
    ...ferret,
    postgres,
    // FerretDB first: PostgreSQL's fast shutdown would cut its connections under it.
    stop: async () => {
      await ferret.stop()
      await postgres.stop()
    }
  }
}

/** An S3-compatible server for STAGING=s3 (versitygw, its POSIX backend), with its credentials. */
export interface S3Service extends Service {
  accessKeyId: string
  secretAccessKey: string
  /** The settings a process needs to stage in it (STAGING=s3 and S3_BUCKET left to the caller). */
  env: { S3_ENDPOINT: string, S3_ACCESS_KEY_ID: string, S3_SECRET_ACCESS_KEY: string }
}

/**
 * versitygw (built by bootstrap.sh into .local/bin) serving `dataDir`/s3 as S3 on a free port: each
 * directory there is a bucket, each file an object. Made-up credentials; it listens on 127.0.0.1 only.
 */
export async function startS3 (dataDir: string, options: { port?: number, quiet?: boolean } = {}): Promise<S3Service> {
  const port = options.port ?? await freePort()
  const root = await mkdirp(join(dataDir, 's3'))
  const accessKeyId = 'image-upload'
  const secretAccessKey = 'image-upload-local-secret'
  const url = `http://127.0.0.1:${port}`
  const service = await start('versitygw', join(ROOT, '.local/bin/versitygw'),
    ['--access', accessKeyId, '--secret', secretAccessKey, '--port', `127.0.0.1:${port}`, '--quiet', 'posix', root], port, url, options.quiet ?? true)
  return { ...service, accessKeyId, secretAccessKey, env: { S3_ENDPOINT: url, S3_ACCESS_KEY_ID: accessKeyId, S3_SECRET_ACCESS_KEY: secretAccessKey } }
}

// --- The dev stack's state file ----------------------------------------------------------------
// While `npm run dev` runs, .data/dev/services.env says which Redis and MongoDB it uses, so that
// commands run from another terminal (scripts/run.sh: create-admin, start, worker) reach the same
// ones when REDIS_URL / MONGODB_URL are set neither in the environment nor in .env. It is plain
// KEY=value lines, which run.sh reads; DEV_PID tells a live file from one left by a killed run.

export const DEV_STATE_FILE = join(ROOT, '.data/dev/services.env')

export interface DevState {
  pid: number
  /** REDIS_URL, MONGODB_URL and the pids of the processes the dev launcher started. */
  values: Record<string, string>
}

/** The state file's contents, or undefined when there is none. */
export function readDevState (file = DEV_STATE_FILE): DevState | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
  const values = parseEnv(text) as Record<string, string>
  return { pid: Number(values.DEV_PID), values }
}

/** Whether `pid` is a running process whose command line contains `marker` (when /proc says). */
export function processAlive (pid: number, marker: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)
  } catch {
    return true // no /proc: the pid alone has to do
  }
}

/** The command line mark of a running dev launcher (scripts/run.sh checks the same). */
export const DEV_LAUNCHER_MARK = 'scripts/dev.ts'

export async function writeDevState (values: Record<string, string>, file = DEV_STATE_FILE): Promise<void> {
  const lines = [
    '# Written by `npm run dev` while it runs, removed when it stops (scripts/lib/services.ts).',
    `DEV_PID=${process.pid}`,
    ...Object.entries(values).map(([key, value]) => `${key}=${value}`)
  ]
  await mkdir(dirname(file), { recursive: true })
  // Written whole, then renamed: a reader never sees half a file. Only the owner reads it (the
  // URLs may carry credentials).
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, lines.join('\n') + '\n', { mode: 0o600 })
  await rename(tmp, file)
}

export async function removeDevState (file = DEV_STATE_FILE): Promise<void> {
  await rm(file, { force: true })
}
