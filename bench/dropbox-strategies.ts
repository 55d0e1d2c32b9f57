// Benchmark B (issue 3): our Dropbox strategy against the naive one under Dropbox's write limits.
// The emulator (its own process) answers every call after --latency-ms (100) and lets one commit
// run at a time per account; other commits get 429 too_many_write_operations with Retry-After: 1.
// 500 distinct 100 KB PNGs across 50 phone numbers are posted once each (one file per request)
// by 50 concurrent clients, for
//   naive: DROPBOX_UPLOAD_STRATEGY=single (one files/upload per job), WORKER_CONCURRENCY=10;
//   ours:  DROPBOX_UPLOAD_STRATEGY=batch (session uploads, grouped finish_batch_v2 commits
//          serialized per account), WORKER_CONCURRENCY=--concurrency (unset: the service's default
//          for Dropbox), DROPBOX_BATCH_WINDOW_MS=--window-ms.
// Then the emulator's files and the MongoDB documents are compared with the 500 uploads by content
// hash: failed, missing and duplicate files or documents are counted.
//   node bench/run.ts strategies [--images 500] [--phones 50] [--clients 50] [--concurrency N] [--window-ms 50]
import { parseArgs } from 'node:util'
import { WORKER_CONCURRENCY_DEFAULTS } from '../src/config.ts'
import { checkStored, makeUploads, postAll, type StoredCheck } from './lib/distinct-uploads.ts'
import { describeMachine, machineInfo } from './lib/machine.ts'
import { CpuMeter, stopAll } from './lib/processes.ts'
import { heading, note, table, writeResult } from './lib/report.ts'
import { round, summarize, type LatencySummary } from './lib/stats.ts'
import { databaseTrees, startEmulator, startInfra, startService, type Emulator, type EmulatorCounters, type Infra } from './lib/stack.ts'

export interface StrategyOptions {
  images: number
  phones: number
  clients: number
  imageBytes: number
  latencyMs: number
  /** concurrency undefined: WORKER_CONCURRENCY unset, the service's default for Dropbox. */
  ours: { concurrency: number | undefined, windowMs: number, maxEntries: number }
  naive: { concurrency: number }
  only: string[]
}

export function parseStrategyArgs (args: string[]): StrategyOptions {
  const { values } = parseArgs({
    args,
    options: {
      images: { type: 'string', default: '500' },
      phones: { type: 'string', default: '50' },
      clients: { type: 'string', default: '50' },
      'image-kb': { type: 'string', default: '100' },
      'latency-ms': { type: 'string', default: '100' },
      concurrency: { type: 'string' },
      'window-ms': { type: 'string', default: '50' },
      'max-entries': { type: 'string', default: '500' },
      'naive-concurrency': { type: 'string', default: '10' },
      only: { type: 'string', default: 'naive,ours' }
    },
    strict: true
  })
  return {
    images: Number(values.images),
    phones: Number(values.phones),
    clients: Number(values.clients),
    imageBytes: Number(values['image-kb']) * 1024,
    latencyMs: Number(values['latency-ms']),
    ours: { concurrency: values.concurrency === undefined ? undefined : Number(values.concurrency), windowMs: Number(values['window-ms']), maxEntries: Number(values['max-entries']) },
    naive: { concurrency: Number(values['naive-concurrency']) },
    only: values.only.split(',').map(s => s.trim()).filter(Boolean)
  }
}

export interface StrategyResult {
  key: string
  label: string
  settings: Record<string, string>
  seconds: number
  imagesPerSecond: number
  latencyMs: LatencySummary
  statuses: Record<string, number>
  counters: EmulatorCounters
  rateLimited: number
  failedUploads: number
  /** CPU ms per image and cores used, per process, while the uploads ran. */
  cpuMsPerImage: Record<string, number>
  cores: Record<string, number>
  check: StoredCheck
}

async function runStrategy (key: 'naive' | 'ours', options: StrategyOptions, infra: Infra, emulator: Emulator): Promise<StrategyResult> {
  const settings: Record<string, string> = key === 'naive'
    ? { DROPBOX_UPLOAD_STRATEGY: 'single', WORKER_CONCURRENCY: String(options.naive.concurrency) }
    : {
        DROPBOX_UPLOAD_STRATEGY: 'batch',
        ...(options.ours.concurrency === undefined ? {} : { WORKER_CONCURRENCY: String(options.ours.concurrency) }),
        DROPBOX_BATCH_WINDOW_MS: String(options.ours.windowMs),
        DROPBOX_BATCH_MAX_ENTRIES: String(options.ours.maxEntries)
      }
  const label = key === 'naive'
    ? `naive: single files/upload, concurrency ${options.naive.concurrency}`
    : `ours: sessions + finish_batch_v2, concurrency ${options.ours.concurrency ?? `${WORKER_CONCURRENCY_DEFAULTS.dropbox} (default)`}, window ${options.ours.windowMs} ms`
  // Slow naive requests must not turn into 202s: every request waits for its file.
  const service = await startService({ name: `strategies-${key}`, infra, env: { ...emulator.serviceEnv, ...settings, UPLOAD_WAIT_MS: String(30 * 60_000) } })
  try {
    const prefix = key === 'naive' ? '21' : '31'
    const warm = makeUploads({ ...options, images: 10, phones: 2 }, `${prefix}9`)
    note(`${label}: warm-up (${warm.length} uploads, not counted)`)
    await postAll(service.url, warm, 5)
    await service.waitIdle()
    await emulator.reset()

    const uploads = makeUploads(options, `${prefix}0`)
    note(`${label}: posting ${uploads.length} uploads from ${options.clients} clients`)
    const cpu = await CpuMeter.start({
      api: service.api.pid, worker: service.workers[0]!.pid, emulator: emulator.child.pid, redis: infra.redis.process.pid!, ferretdb: infra.ferret.process.pid!
    }, databaseTrees(infra))
    const { responses, startedAt } = await postAll(service.url, uploads, options.clients)
    let finishedAt = performance.now()
    const statuses: Record<string, number> = {}
    for (const r of responses) statuses[r.status] = (statuses[r.status] ?? 0) + 1
    if (statuses['202']) {
      // Accepted but not finished: throughput counts until the last of them is stored.
      note(`${statuses['202']} answers were 202; waiting for their jobs`)
      await service.waitIdle(30 * 60_000)
      finishedAt = performance.now()
    }
    const seconds = (finishedAt - startedAt) / 1000
    const { cpuMsPerRequest: cpuMsPerImage, cores } = await cpu.stop(uploads.length)
    const counters = await emulator.counters()
    const { check, failedUploads } = await checkStored(uploads, responses, emulator, service.db)
    return {
      key,
      label,
      settings,
      seconds: round(seconds, 2),
      imagesPerSecond: round(uploads.length / seconds, 2),
      latencyMs: summarize(responses.map(r => r.ms)),
      statuses,
      counters,
      rateLimited: counters.tooManyWriteOperations + counters.tooManyRequests,
      failedUploads,
      cpuMsPerImage,
      cores,
      check
    }
  } finally {
    await service.stop()
  }
}

export async function runStrategies (options: StrategyOptions): Promise<StrategyResult[]> {
  const machine = machineInfo()
  heading(`Dropbox strategies: ${options.images} images of ${options.imageBytes / 1024} KB, ${options.phones} phone numbers, ${options.clients} clients; emulator latency ${options.latencyMs} ms, one commit at a time (429 + Retry-After: 1)`)
  console.log(describeMachine(machine))
  const infra = await startInfra()
  const emulator = await startEmulator('strategies', ['--latency-ms', String(options.latencyMs), '--write-contention', '1:1'])
  const results: StrategyResult[] = []
  try {
    for (const key of ['naive', 'ours'] as const) {
      if (options.only.includes(key)) results.push(await runStrategy(key, options, infra, emulator))
    }
  } finally {
    await stopAll()
    await infra.stop()
  }
  heading('Results')
  console.log(table(
    ['strategy', 'images/s', 'seconds', 'p50 ms', 'p99 ms', 'HTTP statuses', '429s', 'failed', 'dup files', 'dup docs', 'records', 'files'],
    results.map(r => [
      r.label, r.imagesPerSecond, r.seconds, Math.round(r.latencyMs.p50), Math.round(r.latencyMs.p99), JSON.stringify(r.statuses),
      r.rateLimited, r.failedUploads, r.check.duplicateFiles, r.check.duplicateRecords, r.check.records, r.check.files
    ])
  ))
  heading('Dropbox calls per strategy')
  const routes = [...new Set(results.flatMap(r => Object.keys(r.counters.calls)))].sort()
  console.log(table(['strategy', ...routes, 'commits'], results.map(r => [r.key, ...routes.map(route => r.counters.calls[route] ?? 0), r.counters.commits])))
  heading('CPU per image while the uploads ran (ms of CPU; cores used in parentheses)')
  const names = [...new Set(results.flatMap(r => Object.keys(r.cpuMsPerImage)))]
  console.log(table(['strategy', ...names], results.map(r => [r.key, ...names.map(n => `${r.cpuMsPerImage[n]} (${r.cores[n]})`)])))
  const naive = results.find(r => r.key === 'naive')
  const ours = results.find(r => r.key === 'ours')
  if (naive && ours) {
    const speedup = ours.imagesPerSecond / naive.imagesPerSecond
    const clean = ours.failedUploads === 0 && ours.check.duplicateFiles === 0 && ours.check.duplicateRecords === 0 && ours.check.missingFiles === 0
    console.log(`\nours/naive = ${round(speedup, 2)}x: target >= 5x ${speedup >= 5 ? 'MET' : 'NOT MET'}; zero failed/duplicate/missing with ours: ${clean ? 'MET' : 'NOT MET'}`)
  }
  const file = await writeResult('dropbox-strategies', { machine, options, results })
  console.log(`result file: ${file}`)
  return results
}

if (import.meta.main) {
  runStrategies(parseStrategyArgs(process.argv.slice(2))).catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
