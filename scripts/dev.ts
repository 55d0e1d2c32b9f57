// `npm run dev`: the whole service on one machine with embedded defaults. Reads .env like the
// service does (the environment wins), starts Redis and FerretDB (on its own PostgreSQL, or SQLite
// with EMBEDDED_DB=sqlite) under .data/dev on fixed ports unless REDIS_URL / MONGODB_URL are set,
// then the API, one upload worker and one variant worker (display renderings and thumbnails),
// with their logs made readable. While it runs, .data/dev/services.env tells other commands
// (create-admin, start, worker) where the databases are. Ctrl-C stops everything, the worker
// finishing its active jobs first.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseEnv } from 'node:util'
import { prettyFactory } from 'pino-pretty'
import {
  assertPortFree, DEV_LAUNCHER_MARK, DEV_STATE_FILE, embeddedDb, processAlive, readDevState, removeDevState, ROOT,
  SERVICE_NODE_FLAGS, startFerretDB, startRedis, startS3, writeDevState, type Service
} from './lib/services.ts'
import { variantWorkerEnv } from './lib/spawn.ts'

/** Ports of the dev databases: beside, never on, the defaults of a real local Redis and MongoDB. */
const DEFAULT_DEV_REDIS_PORT = 6380
const DEFAULT_DEV_MONGODB_PORT = 27018
/** FerretDB's PostgreSQL: beside a machine's own PostgreSQL (5432). */
const DEFAULT_DEV_POSTGRES_PORT = 5433
/** The S3 server of STAGING=s3 without S3_ENDPOINT: beside versitygw's own default (7070). */
const DEFAULT_DEV_S3_PORT = 7071
const HEALTH_TIMEOUT_MS = 60_000

const dataDir = join(ROOT, '.data/dev')
const services: Service[] = []
/** Each child with the moment its output is all out (its pipes closed after it exited). */
const children = new Map<ChildProcess, Promise<unknown>>()
let stopping = false
let wroteState = false

function log (message: string): void {
  console.error(`\x1b[1m[dev]\x1b[0m ${message}`)
}

async function stopAll (code: number): Promise<never> {
  if (!stopping) {
    stopping = true
    const started = children.size + services.length > 0
    if (started) log('stopping...')
    await Promise.all([...children].map(([child, closed]) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      return closed
    }))
    await Promise.all(services.map(s => s.stop()))
    if (wroteState) await removeDevState()
    if (started) log('stopped')
  }
  process.exit(code)
}

// --- Settings: the environment over .env, as the service reads them ---------------------------

function loadEnv (): NodeJS.ProcessEnv {
  const file = join(ROOT, '.env')
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {}
  const env: NodeJS.ProcessEnv = { ...fromFile }
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined) env[key] = value
  }
  return env
}

function portSetting (env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const port = Number(raw)
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${name} must be a port number (1-65535), not '${raw}'`)
  return port
}

// --- The state file of a previous run ----------------------------------------------------------

const API_SCRIPT = 'src/server.ts'
const WORKER_SCRIPT = 'workers/upload-worker.ts'
const VARIANT_WORKER_SCRIPT = 'workers/variant-worker.ts'

/** The processes the state file names, in the order they are stopped, and their command lines' mark. */
const LEFTOVERS = [
  { key: 'API_PID', mark: API_SCRIPT },
  { key: 'WORKER_PID', mark: WORKER_SCRIPT },
  { key: 'VARIANT_WORKER_PID', mark: VARIANT_WORKER_SCRIPT },
  { key: 'REDIS_PID', mark: 'redis-server' },
  { key: 'FERRETDB_PID', mark: 'ferretdb' },
  { key: 'POSTGRES_PID', mark: 'postgres' },
  { key: 'S3_PID', mark: 'versitygw' }
] as const

/** Refuses to start beside a running dev launcher; clears what a killed one left behind. */
async function clearPreviousRun (): Promise<void> {
  const previous = readDevState()
  if (!previous) return
  if (previous.pid !== process.pid && processAlive(previous.pid, DEV_LAUNCHER_MARK)) {
    throw new Error(`npm run dev is already running in this checkout (pid ${previous.pid}); stop it first`)
  }
  // A launcher killed outright (SIGKILL) leaves its processes running, holding the fixed ports.
  for (const { key, mark } of LEFTOVERS) {
    const pid = Number(previous.values[key])
    if (!processAlive(pid, mark)) continue
    log(`stopping ${mark} (pid ${pid}), left running by a previous npm run dev`)
    process.kill(pid, 'SIGTERM')
    for (let i = 0; i < 200 && processAlive(pid, mark); i++) await sleep(50)
    if (processAlive(pid, mark)) process.kill(pid, 'SIGKILL')
  }
  await removeDevState()
}

// --- The API and the worker, with readable logs ------------------------------------------------

const COLORS = { api: '\x1b[36m', worker: '\x1b[35m', variants: '\x1b[33m' } as const
type Role = keyof typeof COLORS

function prefixer (role: Role): (line: string) => string {
  const label = `${role.padEnd(8)} |`
  const prefix = process.stdout.isTTY && !process.env.NO_COLOR ? `${COLORS[role]}${label}\x1b[0m ` : `${label} `
  return line => prefix + line + '\n'
}

/** Copies a child's output line by line with its prefix, pretty-printing pino's JSON lines. */
function relay (stream: Readable, out: NodeJS.WriteStream, prefix: (line: string) => string, pretty?: (line: string) => string): void {
  const lines = createInterface({ input: stream, crlfDelay: Infinity })
  lines.on('line', line => {
    const text = pretty ? pretty(line).replace(/\n$/, '') : line
    out.write(text.split('\n').map(prefix).join(''))
  })
}

function run (role: Role, script: string, env: NodeJS.ProcessEnv): ChildProcess {
  const raw = env.LOG_FORMAT === 'json'
  // Own process group, like the databases: a Ctrl-C in the terminal reaches this launcher alone,
  // which sends each child one SIGTERM (a second signal makes them exit at once, unfinished).
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, script], {
    cwd: ROOT, env, detached: true, stdio: ['ignore', raw ? 'inherit' : 'pipe', raw ? 'inherit' : 'pipe']
  })
  if (!raw) {
    // Dev only: production (`npm start`) logs JSON lines. Local times; pid and hostname say
    // nothing on one machine, the prefix says which process.
    const pretty = prettyFactory({ translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,role' })
    const prefix = prefixer(role)
    relay(child.stdout!, process.stdout, prefix, pretty)
    relay(child.stderr!, process.stderr, prefix)
  }
  child.once('exit', (code, signal) => {
    if (stopping) return
    log(`${role} exited (${signal ?? code}); stopping everything`)
    void stopAll(1)
  })
  // 'close', not 'exit': the last log lines of a child are still in its pipes when it exits.
  children.set(child, once(child, 'close'))
  return child
}

/** Polls the API's /health until it answers 200; fails when a child exits or time runs out. */
async function waitForHealth (url: string): Promise<void> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS
  let last = 'no answer'
  while (Date.now() < deadline) {
    if (stopping) throw new Error('a process exited while starting')
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) })
      await response.body?.cancel()
      if (response.status === 200) return
      last = `HTTP ${response.status}`
    } catch (err) {
      last = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? (err as Error).message
    }
    await sleep(250)
  }
  throw new Error(`the API did not answer ${url} with 200 within ${HEALTH_TIMEOUT_MS / 1000} s (last: ${last})`)
}

/** Where the launcher reaches the API: its HOST, or the loopback when it listens on all. */
function localHost (host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1'
  if (host === '::') return '[::1]'
  return host.includes(':') ? `[${host}]` : host
}

// --- Main --------------------------------------------------------------------------------------

async function main (): Promise<void> {
  const env = loadEnv()
  await clearPreviousRun()

  // Both ports checked before anything starts: a clash is reported alone, nothing to undo.
  const redisPort = env.REDIS_URL ? undefined : portSetting(env, 'DEV_REDIS_PORT', DEFAULT_DEV_REDIS_PORT)
  const mongodbPort = env.MONGODB_URL ? undefined : portSetting(env, 'DEV_MONGODB_PORT', DEFAULT_DEV_MONGODB_PORT)
  const backend = embeddedDb(env)
  const postgresPort = mongodbPort && backend === 'postgresql' ? portSetting(env, 'DEV_POSTGRES_PORT', DEFAULT_DEV_POSTGRES_PORT) : undefined
  if (redisPort) await assertPortFree(redisPort, "the dev stack's Redis", 'DEV_REDIS_PORT')
  if (mongodbPort) await assertPortFree(mongodbPort, "the dev stack's FerretDB", 'DEV_MONGODB_PORT')
  if (postgresPort) await assertPortFree(postgresPort, "the dev stack's PostgreSQL", 'DEV_POSTGRES_PORT')
  // STAGING=s3 with no S3_ENDPOINT: an S3 server of its own, as for Redis and MongoDB.
  const s3Port = env.STAGING === 's3' && !env.S3_ENDPOINT ? portSetting(env, 'DEV_S3_PORT', DEFAULT_DEV_S3_PORT) : undefined
  if (s3Port) await assertPortFree(s3Port, "the dev stack's S3 server", 'DEV_S3_PORT')
  if (redisPort) {
    const redis = await startRedis({ dataDir, port: redisPort })
    services.push(redis)
    env.REDIS_URL = redis.url
    log(`Redis at ${redis.url} (data in .data/dev/redis)`)
  }
  if (mongodbPort) {
    // Kept data: PostgreSQL with its durable defaults.
    const ferret = await startFerretDB(dataDir, 'image_upload', { port: mongodbPort, backend, postgresPort, durable: true })
    services.push(ferret)
    env.MONGODB_URL = ferret.url
    log(ferret.postgres
      ? `FerretDB at ${ferret.url} on PostgreSQL ${ferret.postgres.url} (data in .data/dev/postgres)`
      : `FerretDB at ${ferret.url} on SQLite (data in .data/dev/ferretdb)`)
  }
  if (s3Port) {
    const s3 = await startS3(dataDir, { port: s3Port })
    services.push(s3)
    Object.assign(env, s3.env, { S3_BUCKET: env.S3_BUCKET || 'image-upload-staging' })
    log(`S3 (versitygw) at ${s3.url}, bucket ${env.S3_BUCKET} (data in .data/dev/s3)`)
  }
  const state: Record<string, string> = { REDIS_URL: env.REDIS_URL!, MONGODB_URL: env.MONGODB_URL! }
  // A second terminal's `npm start` / `npm run worker` with STAGING=s3 finds the same bucket.
  if (s3Port) Object.assign(state, { S3_ENDPOINT: env.S3_ENDPOINT!, S3_BUCKET: env.S3_BUCKET!, S3_ACCESS_KEY_ID: env.S3_ACCESS_KEY_ID!, S3_SECRET_ACCESS_KEY: env.S3_SECRET_ACCESS_KEY! })
  const pidKeys: Record<string, string> = { redis: 'REDIS_PID', ferretdb: 'FERRETDB_PID', versitygw: 'S3_PID' }
  for (const s of services) {
    state[pidKeys[s.name]!] = String(s.process.pid)
    if (s.postgres) Object.assign(state, { POSTGRES_URL: s.postgres.url, POSTGRES_PID: String(s.postgres.process.pid) })
  }
  await writeDevState(state)
  wroteState = true

  const api = run('api', API_SCRIPT, env)
  const worker = run('worker', WORKER_SCRIPT, env)
  // With the allocator that keeps sharp's memory bounded, unless the environment chose one.
  const variants = run('variants', VARIANT_WORKER_SCRIPT, env.LD_PRELOAD || env.MALLOC_ARENA_MAX ? env : { ...env, ...variantWorkerEnv() })
  await writeDevState({ ...state, API_PID: String(api.pid), WORKER_PID: String(worker.pid), VARIANT_WORKER_PID: String(variants.pid) })

  const port = env.PORT || '3000'
  const base = (env.PUBLIC_BASE_URL || `http://localhost:${port}`).replace(/\/+$/, '')
  await waitForHealth(`http://${localHost(env.HOST || '127.0.0.1')}:${port}/health`)
  const admin = env.ADMIN_ENABLED === 'false'
    ? ''
    : `\n  Admin panel  ${base}/admin/\n\n  First admin account (in another terminal):\n    npm run create-admin -- --username <name>\n`
  log(`ready (Ctrl-C stops all)\n\n  API          ${base}\n  Swagger UI   ${base}/docs${admin}`)
}

// `on`, not `once`: a repeated signal must not kill the launcher before it has stopped the
// databases. SIGHUP (the terminal closing) too, or they would be left holding the ports.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => { void stopAll(0) })
}
// Whatever ends this process (short of SIGKILL), neither its children nor the state file outlive it.
process.once('exit', () => {
  for (const child of children.keys()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  if (wroteState) rmSync(DEV_STATE_FILE, { force: true })
})

try {
  await main()
} catch (err) {
  if (!stopping) {
    log(`ERROR: ${(err as Error).message}`)
    await stopAll(1)
  }
}
