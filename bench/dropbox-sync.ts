// The Dropbox sync (issue 14): a first sync over --files photos (10,000) in --folders phone-number
// folders (500), then one run of changes (--changes files added, as many renamed and deleted).
// Redis, FerretDB, the emulator (answering each call after --latency-ms) and the service (API and
// one worker) are each their own process; the worker's sync reads Dropbox in pages of 2,000 and
// makes one shared link per new file (--link-concurrency at once is the worker's default, 16).
// Reports each run's time (from the run's own report), the Dropbox calls by route, the records
// and the CPU used per file by each process.
//   node bench/run.ts dropbox-sync [--files 10000] [--folders 500] [--changes 100] [--latency-ms 0]
import { parseArgs } from 'node:util'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { randomPng } from '../test/helpers/images.ts'
import { DROPBOX_SYNC_QUEUE, requestDropboxSync } from '../src/queue/dropbox-sync-jobs.ts'
import { DropboxSyncState, type SyncRunReport } from '../src/queue/dropbox-sync-state.ts'
import { describeMachine, machineInfo } from './lib/machine.ts'
import { CpuMeter, stopAll, waitFor } from './lib/processes.ts'
import { heading, note, table, writeResult } from './lib/report.ts'
import { round } from './lib/stats.ts'
import { databaseTrees, startEmulator, startInfra, startService, type Emulator } from './lib/stack.ts'

export interface SyncBenchOptions {
  files: number
  folders: number
  changes: number
  latencyMs: number
}

export function parseSyncBenchArgs (args: string[]): SyncBenchOptions {
  const { values } = parseArgs({
    args,
    options: {
      files: { type: 'string', default: '10000' },
      folders: { type: 'string', default: '500' },
      changes: { type: 'string', default: '100' },
      'latency-ms': { type: 'string', default: '0' }
    },
    strict: true
  })
  return { files: Number(values.files), folders: Number(values.folders), changes: Number(values.changes), latencyMs: Number(values['latency-ms']) }
}

interface RunFigures {
  run: string
  seconds: number
  pages: number
  created: number
  updated: number
  deleted: number
  records: number
  calls: Record<string, number>
  cpuMsPerFile: Record<string, number>
}

async function control (emulator: Emulator, path: string, body: string | Buffer, query: Record<string, string> = {}): Promise<void> {
  const res = await fetch(`${emulator.url}/__emulator/${path}?${new URLSearchParams(query)}`, { method: 'POST', body })
  if (!res.ok) throw new Error(`emulator ${path}: HTTP ${res.status} ${await res.text()}`)
}

/** `count` small PNGs put into Dropbox from outside, 16 at a time. */
async function addFiles (emulator: Emulator, paths: string[]): Promise<void> {
  let next = 0
  const bytes = randomPng(256)
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < paths.length) await control(emulator, 'add-file', bytes, { path: paths[next++]! })
  }))
}

export async function runSyncBench (options: SyncBenchOptions): Promise<RunFigures[]> {
  const machine = machineInfo()
  heading(`Dropbox sync: a first sync over ${options.files.toLocaleString('en-US')} files in ${options.folders} folders, then ${options.changes} changes of each kind (emulator latency ${options.latencyMs} ms)`)
  console.log(describeMachine(machine))
  const infra = await startInfra()
  const emulator = await startEmulator('sync', ['--latency-ms', String(options.latencyMs)])
  const service = await startService({ name: 'sync', infra, env: { ...emulator.serviceEnv, DROPBOX_SYNC_INTERVAL_MS: String(3600_000), LOG_LEVEL: 'warn' } })
  const redis = new Redis(infra.redisUrl, { maxRetriesPerRequest: null })
  const prefix = service.env.QUEUE_PREFIX!
  const state = new DropboxSyncState(redis, prefix)
  const queue = new Queue(DROPBOX_SYNC_QUEUE, { connection: redis, prefix })
  const figures: RunFigures[] = []
  try {
    const lastRun = async (): Promise<SyncRunReport | undefined> => (await state.status()).last
    // The worker's first scheduled run, over an empty Dropbox.
    await waitFor('the first (empty) sync', async () => (await lastRun()) !== undefined, { children: service.workers })

    const runOnce = async (label: string): Promise<void> => {
      const before = (await lastRun())?.finishedAt
      await emulator.reset()
      const meter = await CpuMeter.start({ worker: service.workers[0]!.pid, emulator: emulator.child.pid, ferretdb: infra.ferret.process.pid!, redis: infra.redis.process.pid! }, databaseTrees(infra))
      await requestDropboxSync(queue, { trigger: 'admin' })
      await waitFor(`${label}: the sync run`, async () => (await lastRun())?.finishedAt !== before, { timeoutMs: 30 * 60_000, intervalMs: 200, children: service.workers })
      const report = (await lastRun())!
      if (report.outcome !== 'completed') throw new Error(`${label}: the run ${report.outcome}: ${report.error}`)
      const files = report.created + report.updated + report.deleted
      const cpu = await meter.stop(Math.max(1, files))
      const counters = await emulator.counters()
      figures.push({
        run: label,
        seconds: round((Date.parse(report.finishedAt) - Date.parse(report.startedAt)) / 1000, 2),
        pages: report.pages,
        created: report.created,
        updated: report.updated,
        deleted: report.deleted,
        records: await service.db.collection('images').countDocuments(),
        calls: counters.calls,
        cpuMsPerFile: Object.fromEntries(Object.entries(cpu.cpuMsPerRequest).map(([k, v]) => [k, round(v, 2)]))
      })
    }

    note(`putting ${options.files} files into the emulator`)
    const paths = Array.from({ length: options.files }, (_, i) => `/${5550000000 + (i % options.folders)}/photo-${i}.png`)
    await addFiles(emulator, paths)
    // A lost cursor is a first sync: the whole listing, as when the service meets a Dropbox full of photos.
    await redis.del(`${prefix}:dropbox-sync:position`)
    await runOnce('first sync (full listing)')

    note(`changing ${options.changes} files of each kind`)
    await addFiles(emulator, Array.from({ length: options.changes }, (_, i) => `/${5550000000 + (i % options.folders)}/new-${i}.png`))
    for (let i = 0; i < options.changes; i++) {
      await control(emulator, 'move', JSON.stringify({ from_path: paths[i], to_path: paths[i]!.replace('photo-', 'renamed-') }))
      await control(emulator, 'delete', JSON.stringify({ path: paths[options.files - 1 - i] }))
    }
    await runOnce('next sync (changes only)')

    const routes = [...new Set(figures.flatMap(f => Object.keys(f.calls)))].sort()
    console.log(table(['run', 's', 'pages', 'created', 'updated', 'deleted', 'records', ...routes],
      figures.map(f => [f.run, f.seconds, f.pages, f.created, f.updated, f.deleted, f.records, ...routes.map(r => f.calls[r] ?? 0)])))
    const procs = Object.keys(figures[0]!.cpuMsPerFile)
    console.log('\nCPU ms per file changed, per process:')
    console.log(table(['run', ...procs], figures.map(f => [f.run, ...procs.map(p => f.cpuMsPerFile[p])])))
    const file = await writeResult('dropbox-sync', { machine, options, figures })
    note(`result: ${file}`)
    return figures
  } finally {
    await queue.close()
    redis.disconnect()
    await service.stop()
    await emulator.stop()
    await infra.stop()
    await stopAll()
  }
}
