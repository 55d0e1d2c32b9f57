// The pieces a benchmark starts: Redis and FerretDB (scripts/lib/services.ts), the upload service
// (API and worker processes), the Dropbox emulator, and the bare baseline server.
import { createInterface } from 'node:readline'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { createConnection, type Connection } from 'mongoose'
import { freePort, ROOT, SERVICE_NODE_FLAGS, startFerretDB, startRedis, type Service } from '../../scripts/lib/services.ts'
import { variantWorkerEnv } from '../../scripts/lib/spawn.ts'
import { UPLOAD_QUEUE } from '../../src/queue/upload-jobs.ts'
import { baseEnv, spawnNode, waitFor, type Child } from './processes.ts'
import { RESULTS_DIR } from './report.ts'

// Each run has its own data, logs and profiles, so two runs on one machine (two engineers, or a
// run and a test suite) never delete or mix each other's files.
const RUN = `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`
export const BENCH_DATA = join(ROOT, '.data/bench', RUN)
export const LOG_DIR = join(RESULTS_DIR, 'logs', RUN)
export const PROFILE_DIR = join(RESULTS_DIR, 'profiles', RUN)

export interface Infra {
  redis: Service
  ferret: Service
  redisUrl: string
  mongoUrl: (db: string) => string
  stop: () => Promise<void>
}

/** Fresh Redis and FerretDB under .data/bench/<run>; their data is removed when they stop. */
export async function startInfra (): Promise<Infra> {
  const dir = join(BENCH_DATA, `infra-${Date.now()}`)
  await mkdir(dir, { recursive: true })
  const [redis, ferret] = await Promise.all([startRedis(), startFerretDB(dir, 'bench')])
  const base = ferret.url.replace(/\/[^/]*$/, '')
  return {
    redis,
    ferret,
    redisUrl: redis.url,
    mongoUrl: db => `${base}/${db}`,
    stop: async () => {
      await Promise.all([redis.stop(), ferret.stop()])
      await rm(BENCH_DATA, { recursive: true, force: true })
    }
  }
}

/**
 * FerretDB's PostgreSQL (EMBEDDED_DB=postgresql, the default), for CpuMeter's `trees`: its CPU is
 * that of all its processes (a backend per connection). None on SQLite.
 */
export function databaseTrees (infra: Infra): Record<string, number> {
  return infra.ferret.postgres ? { postgresql: infra.ferret.postgres.process.pid! } : {}
}

/** "KEY=VALUE,KEY=VALUE" (the --service-env flag of the benchmarks) as an env object. */
export function parseServiceEnv (text: string): Record<string, string> {
  return Object.fromEntries(text.split(',').filter(Boolean).map(pair => {
    const at = pair.indexOf('=')
    if (at < 1) throw new Error(`--service-env wants KEY=VALUE pairs, got '${pair}'`)
    return [pair.slice(0, at), pair.slice(at + 1)]
  }))
}

export interface ServiceOptions {
  /** Names the log files, the queue prefix and the database. */
  name: string
  infra: Infra
  env: Record<string, string>
  workers?: number
  /** Settings of upload worker `index` (0-based) over `env`, such as its own WORKER_METRICS_PORT. */
  workerEnv?: (index: number) => Record<string, string>
  /** Variant workers (workers/variant-worker.ts, with their allocator): none unless asked for. */
  variantWorkers?: number
  /** Extra node flags for the API and the workers (e.g. --cpu-prof). */
  nodeArgs?: string[]
}

export interface RunningService {
  url: string
  api: Child
  workers: Child[]
  variantWorkers: Child[]
  env: Record<string, string>
  queue: Queue
  db: Connection
  stagingDir: string
  dataDir: string
  /** Jobs not yet finished (waiting, active, delayed...) and failed ones. */
  jobCounts: () => Promise<{ unfinished: number, failed: number, completed: number }>
  waitIdle: (timeoutMs?: number) => Promise<void>
  stop: () => Promise<void>
}

/** `node src/server.ts` and `node workers/upload-worker.ts` with their own env, ready to serve. */
export async function startService (options: ServiceOptions): Promise<RunningService> {
  const { name, infra } = options
  const port = await freePort()
  const dir = join(BENCH_DATA, name)
  const stagingDir = join(dir, 'staging')
  const dataDir = join(dir, 'files')
  await rm(dir, { recursive: true, force: true })
  await mkdir(stagingDir, { recursive: true })
  const prefix = `bench-${name}`
  const env: Record<string, string> = {
    ...baseEnv(),
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    MONGODB_URL: infra.mongoUrl(name.replace(/-/g, '_')),
    REDIS_URL: infra.redisUrl,
    QUEUE_PREFIX: prefix,
    STAGING_DIR: stagingDir,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    // One client address sends what thousands of phones would: abuse limits off.
    RATE_LIMIT_UPLOADS_PER_MINUTE: '0',
    RATE_LIMIT_LOOKUPS_PER_MINUTE: '0',
    ...options.env
  }
  // The flags production runs with, then the benchmark's own.
  const nodeArgs = [...SERVICE_NODE_FLAGS, ...options.nodeArgs ?? []]
  const api = spawnNode(`${name} api`, 'src/server.ts', { env, nodeArgs, logFile: join(LOG_DIR, `${name}-api.log`) })
  const workers = Array.from({ length: options.workers ?? 1 }, (_, i) =>
    spawnNode(`${name} worker ${i + 1}`, 'workers/upload-worker.ts', { env: { ...env, ...options.workerEnv?.(i) }, nodeArgs, logFile: join(LOG_DIR, `${name}-worker-${i + 1}.log`) }))
  const variantWorkers = Array.from({ length: options.variantWorkers ?? 0 }, (_, i) =>
    spawnNode(`${name} variant worker ${i + 1}`, 'workers/variant-worker.ts', { env: { ...env, ...variantWorkerEnv() }, nodeArgs, logFile: join(LOG_DIR, `${name}-variant-worker-${i + 1}.log`) }))
  const url = `http://127.0.0.1:${port}`
  const redis = new Redis(infra.redisUrl, { maxRetriesPerRequest: null })
  const queue = new Queue(UPLOAD_QUEUE, { connection: redis, prefix })
  const db = createConnection(env.MONGODB_URL!)
  const children = [api, ...workers, ...variantWorkers]
  try {
    await waitFor(`${name}: API health`, async () => (await fetch(`${url}/health`)).ok, { children })
    await waitFor(`${name}: ${workers.length} worker(s)`, async () => await queue.getWorkersCount() >= workers.length, { children })
    await db.asPromise()
  } catch (err) {
    await Promise.all(children.map(c => c.stop(2000)))
    await queue.close()
    redis.disconnect()
    await db.close()
    throw err
  }

  const jobCounts = async (): Promise<{ unfinished: number, failed: number, completed: number }> => {
    const counts = await queue.getJobCounts('active', 'waiting', 'wait', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed')
    const unfinished = Object.entries(counts).filter(([k]) => k !== 'failed' && k !== 'completed').reduce((a, [, v]) => a + v, 0)
    return { unfinished, failed: counts.failed ?? 0, completed: counts.completed ?? 0 }
  }
  return {
    url,
    api,
    workers,
    variantWorkers,
    env,
    queue,
    db,
    stagingDir,
    dataDir,
    jobCounts,
    waitIdle: timeoutMs => waitFor(`${name}: queue drained`, async () => (await jobCounts()).unfinished === 0, { timeoutMs: timeoutMs ?? 120_000, intervalMs: 200, children }),
    stop: async () => {
      await queue.close()
      redis.disconnect()
      await db.close()
      // Workers first (they finish active jobs), then the API.
      await Promise.all([...workers, ...variantWorkers].map(w => w.stop()))
      await api.stop()
    }
  }
}

export interface Emulator {
  child: Child
  url: string
  appKey: string
  appSecret: string
  refreshToken: string
  /** The env that points the service at this emulator. */
  serviceEnv: Record<string, string>
  counters: () => Promise<EmulatorCounters>
  reset: () => Promise<void>
  files: () => Promise<EmulatorFile[]>
  stop: () => Promise<void>
}

export interface EmulatorCounters {
  calls: Record<string, number>
  tooManyRequests: number
  tooManyWriteOperations: number
  serverErrors: number
  commits: number
  filesWritten: number
  batchEntries: number
}

export interface EmulatorFile {
  name: string
  path_lower: string
  path_display: string
  size: number
  content_hash: string
  diskPath: string
}

/** The Dropbox emulator as its own process (test/support/dropbox-emulator/cli.ts). */
export async function startEmulator (name: string, args: string[] = []): Promise<Emulator> {
  const child = spawnNode(`${name} emulator`, 'test/support/dropbox-emulator/cli.ts', {
    env: baseEnv(), args, pipeStdout: true, logFile: join(LOG_DIR, `${name}-emulator.log`)
  })
  const lines = createInterface({ input: child.process.stdout! })
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve)
    child.process.once('exit', code => reject(new Error(`the emulator exited (${code}) before listening; see ${child.logFile}`)))
  })
  lines.on('line', () => {})
  const info = JSON.parse(first) as { url: string, appKey: string, appSecret: string, refreshToken: string }
  const control = async <T>(path: string, method = 'GET'): Promise<T> => {
    const res = await fetch(`${info.url}/__emulator/${path}`, { method, body: method === 'POST' ? '{}' : undefined })
    if (!res.ok) throw new Error(`emulator ${path}: HTTP ${res.status}`)
    return await res.json() as T
  }
  return {
    child,
    ...info,
    serviceEnv: {
      STORAGE: 'dropbox',
      DROPBOX_APP_KEY: info.appKey,
      DROPBOX_APP_SECRET: info.appSecret,
      DROPBOX_REFRESH_TOKEN: info.refreshToken,
      DROPBOX_API_BASE_URL: info.url
    },
    counters: () => control<EmulatorCounters>('counters'),
    reset: async () => { await control('reset', 'POST') },
    files: () => control<EmulatorFile[]>('files'),
    stop: () => child.stop()
  }
}

export interface Baseline {
  child: Child
  url: string
  dir: string
  stop: () => Promise<void>
}

/** bench/baseline-server.ts: the bare Fastify + @fastify/multipart handler. */
export async function startBaseline (logLevel: string, nodeArgs: string[] = []): Promise<Baseline> {
  const port = await freePort()
  const dir = join(BENCH_DATA, 'baseline')
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  const child = spawnNode('baseline', 'bench/baseline-server.ts', {
    nodeArgs,
    env: { ...baseEnv(), PORT: String(port), UPLOAD_DIR: dir, LOG_LEVEL: logLevel },
    logFile: join(LOG_DIR, 'baseline.log')
  })
  const url = `http://127.0.0.1:${port}`
  await waitFor('baseline health', async () => (await fetch(`${url}/health`)).ok, { children: [child] })
  return { child, url, dir, stop: () => child.stop() }
}
