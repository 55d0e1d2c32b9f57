// Benchmark A (issue 2): requests per second and latency of POST /api/upload/ with one 100 KB PNG
// per request and 20 connections, for
//   (a) the baseline: a bare Fastify + @fastify/multipart handler streaming the file to disk;
//   (b) the full service with local storage (API and worker as separate processes);
//   (c) the full service with Dropbox storage against the emulator (its own process, no faults);
//   (d) target local-gps: (b) again, every image carrying an EXIF GPS position (issue 12: the API
//       takes it out before the file is staged for good); compared with (b) and (a).
//   (e) targets local-novariants / local-variants (issue 12 §2): (b) with VARIANTS_ENABLED=false,
//       and with renderings on and one variant worker rendering beside the API and the worker
//       (its CPU counted): what making display renderings and thumbnails costs the ingest.
//   (f) target local-s3 (issue 13 §1): (b) with STAGING=s3, the accepted files waiting in a bucket of
//       versitygw (its own process, its CPU counted) instead of the shared staging directory.
// --image jpeg sends a ~100 KB JPEG photo with a phone's EXIF instead of the random PNG.
// Each target is warmed up for a few seconds, then measured over a fixed number of requests sized
// from the warm-up rate to last about --seconds, so every stored record can be counted exactly.
//   node bench/run.ts throughput [--seconds 20] [--warmup 5] [--connections 20] [--targets baseline,local,dropbox]
//     [--log-level info] [--worker-concurrency N (default: the service's)] [--cpu-prof] [--node-args='--max-semi-space-size=2']
//     [--service-env DROPBOX_BATCH_WINDOW_MS=0,...] [--image png|jpeg]
//   node bench/run.ts throughput --image jpeg --targets baseline,local,local-gps   # issue 12's figure
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { benchImages, type BenchImageFormat } from './lib/photos.ts'
import { runLoad, type LoadResult } from './lib/load.ts'
import { describeMachine, machineInfo } from './lib/machine.ts'
import { CpuMeter, stopAll } from './lib/processes.ts'
import { RedisCommandMeter } from './lib/redis-stats.ts'
import { heading, note, table, writeResult } from './lib/report.ts'
import { round } from './lib/stats.ts'
import { startS3 } from '../scripts/lib/services.ts'
import { BENCH_DATA, databaseTrees, parseServiceEnv, PROFILE_DIR, startBaseline, startEmulator, startInfra, startService, type Emulator, type Infra, type RunningService } from './lib/stack.ts'

const TARGET_LABELS: Record<string, string> = {
  local: '(b) service, local storage',
  'local-gps': '(d) service, local storage, photos with GPS',
  dropbox: '(c) service, Dropbox (emulator, no faults)',
  'local-novariants': '(e) service, local storage, VARIANTS_ENABLED=false',
  'local-variants': '(e) service, local storage, renderings made by a variant worker',
  'local-s3': '(f) service, local storage, S3 staging (versitygw)'
}

export interface ThroughputOptions {
  seconds: number
  warmupSeconds: number
  connections: number
  imageBytes: number
  /** png: randomPng (the historical figure); jpeg: a photo with a phone's EXIF. */
  imageFormat: BenchImageFormat
  /** Unset: the service's default for the storage (the figure users get). */
  workerConcurrency: number | undefined
  logLevel: string
  cpuProf: boolean
  /** Extra node flags for the API, the workers and the baseline (experiments only). */
  nodeArgs: string[]
  /** Extra settings for the service (KEY=VALUE,...), e.g. DROPBOX_BATCH_WINDOW_MS=0. */
  serviceEnv: Record<string, string>
  targets: string[]
}

export function parseThroughputArgs (args: string[]): ThroughputOptions {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '5' },
      connections: { type: 'string', default: '20' },
      'image-kb': { type: 'string', default: '100' },
      image: { type: 'string', default: 'png' },
      'worker-concurrency': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      'cpu-prof': { type: 'boolean', default: false },
      'node-args': { type: 'string', default: '' },
      'service-env': { type: 'string', default: '' },
      targets: { type: 'string', default: 'baseline,local,dropbox' }
    },
    strict: true
  })
  return {
    seconds: Number(values.seconds),
    warmupSeconds: Number(values.warmup),
    connections: Number(values.connections),
    imageBytes: Number(values['image-kb']) * 1024,
    imageFormat: values.image === 'jpeg' ? 'jpeg' : 'png',
    workerConcurrency: values['worker-concurrency'] === undefined ? undefined : Number(values['worker-concurrency']),
    logLevel: values['log-level'],
    cpuProf: values['cpu-prof'],
    nodeArgs: values['node-args'].split(' ').filter(Boolean),
    serviceEnv: parseServiceEnv(values['service-env']),
    targets: values.targets.split(',').map(t => t.trim()).filter(Boolean)
  }
}

interface Target {
  key: string
  label: string
  url: string
  /** Processes whose CPU time is charged to this target (name -> pid). */
  pids: Record<string, number>
  service?: RunningService
  emulator?: Emulator
  /** The image this target is sent, when not the run's plain one (local-gps). */
  image?: Buffer
  stop: () => Promise<void>
}

export interface TargetResult {
  key: string
  label: string
  warmup: LoadResult
  measured: LoadResult
  status200: number
  /** CPU milliseconds per request, per process, during the measured run. */
  cpuMsPerRequest: Record<string, number>
  /** Share of the machine's CPU used during the measured run, per process (1 = one core). */
  cores: Record<string, number>
  verification?: { expected: number, records: number, stored: number, failedJobs: number, ok: boolean }
  /** Redis commands (and their server time) per request: the queue's cost. */
  redis?: { perRequest: number, usecPerRequest: number, top: Array<{ command: string, perRequest: number }> }
}

const phonesFor = (index: number, kind: 'warm' | 'run', count: number): string[] =>
  Array.from({ length: count }, (_, i) => `7${index}${kind === 'warm' ? 9 : 1}000${String(i).padStart(3, '0')}`)

async function storedCount (target: Target, phones: string[]): Promise<number> {
  if (target.emulator) {
    const files = await target.emulator.files()
    return files.filter(f => phones.some(p => f.path_lower.startsWith(`/${p}/`))).length
  }
  let count = 0
  for (const phone of phones) count += (await readdir(join(target.service!.dataDir, phone)).catch(() => [])).length
  return count
}

async function measure (target: Target, index: number, options: ThroughputOptions, image: Buffer, infra: Infra): Promise<TargetResult> {
  const warmPhones = phonesFor(index, 'warm', options.connections)
  const runPhones = phonesFor(index, 'run', options.connections)
  note(`${target.label}: warming up for ${options.warmupSeconds} s`)
  const warmup = await runLoad({ url: target.url, connections: options.connections, seconds: options.warmupSeconds, image, phones: warmPhones, namePrefix: 'warm' })
  if (target.service) await target.service.waitIdle()
  const amount = Math.max(200, Math.round(warmup.rps * options.seconds))
  note(`${target.label}: measuring ${amount} requests (warm-up ran at ${round(warmup.rps)} req/s)`)
  const pids = { ...target.pids, redis: infra.redis.process.pid!, ferretdb: infra.ferret.process.pid! }
  const cpu = await CpuMeter.start(pids, databaseTrees(infra))
  const redis = await RedisCommandMeter.start(infra.redisUrl)
  const measured = await runLoad({ url: target.url, connections: options.connections, amount, image, phones: runPhones, namePrefix: 'run' })
  const { cpuMsPerRequest, cores } = await cpu.stop(measured.requests)

  if (!target.service) await redis.stop(1)
  const result: TargetResult = { key: target.key, label: target.label, warmup, measured, status200: measured.statusCodes['200'] ?? 0, cpuMsPerRequest, cores }
  if (target.service) {
    await target.service.waitIdle()
    result.redis = await redis.stop(measured.requests)
    const records = await target.service.db.collection('images').countDocuments({ phone_number: { $in: runPhones } })
    const stored = await storedCount(target, runPhones)
    const { failed } = await target.service.jobCounts()
    result.verification = { expected: amount, records, stored, failedJobs: failed, ok: records === amount && stored === amount && result.status200 === amount && failed === 0 }
  }
  return result
}

export async function runThroughput (options: ThroughputOptions): Promise<{ results: TargetResult[], file: string }> {
  const machine = machineInfo()
  heading(`Upload throughput: ${options.imageBytes / 1024} KB ${options.imageFormat.toUpperCase()}, ${options.connections} connections, ~${options.seconds} s per target`)
  console.log(describeMachine(machine))
  const { plain: image, gps: gpsImage } = await benchImages(options.imageFormat, options.imageBytes)
  const infra = await startInfra()
  const nodeArgs = [...options.nodeArgs, ...options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []]
  // The service's defaults unless asked otherwise: its figure is the one users get.
  const serviceEnv = { LOG_LEVEL: options.logLevel, ...options.workerConcurrency === undefined ? {} : { WORKER_CONCURRENCY: String(options.workerConcurrency) }, UPLOAD_WAIT_MS: '300000', ...options.serviceEnv }
  const results: TargetResult[] = []
  try {
    for (const [index, key] of options.targets.entries()) {
      let target: Target
      if (key === 'baseline') {
        const baseline = await startBaseline(options.logLevel, nodeArgs)
        target = { key, label: '(a) baseline: bare Fastify multipart to disk', url: baseline.url, pids: { baseline: baseline.child.pid }, stop: baseline.stop }
      } else if (key in TARGET_LABELS) {
        const emulator = key === 'dropbox' ? await startEmulator('throughput') : undefined
        const s3 = key === 'local-s3' ? await startS3(join(BENCH_DATA, 's3')) : undefined
        const variants = key === 'local-variants'
        const variantEnv: Record<string, string> = key === 'local-novariants' ? { VARIANTS_ENABLED: 'false' } : variants ? { VARIANTS_ENABLED: 'true' } : {}
        const s3Env = s3 ? { ...s3.env, STAGING: 's3', S3_BUCKET: 'bench-staging' } : {}
        const service = await startService({ name: `throughput-${key}`, infra, nodeArgs, variantWorkers: variants ? 1 : 0, env: { ...serviceEnv, STORAGE: 'local', ...variantEnv, ...s3Env, ...emulator?.serviceEnv } })
        const pids: Record<string, number> = { api: service.api.pid, worker: service.workers[0]!.pid }
        if (variants) pids.variants = service.variantWorkers[0]!.pid
        if (emulator) pids.emulator = emulator.child.pid
        if (s3) pids.s3 = s3.process.pid!
        target = {
          key,
          label: TARGET_LABELS[key]!,
          image: key === 'local-gps' ? gpsImage : undefined,
          url: service.url,
          pids,
          service,
          emulator,
          stop: async () => { await service.stop(); await emulator?.stop(); await s3?.stop() }
        }
      } else {
        throw new Error(`unknown target ${key} (baseline, ${Object.keys(TARGET_LABELS).join(', ')})`)
      }
      try {
        results.push(await measure(target, index, options, target.image ?? image, infra))
      } finally {
        await target.stop()
      }
    }
  } finally {
    await stopAll()
    await infra.stop()
  }

  const baseline = results.find(r => r.key === 'baseline')
  heading('Results')
  console.log(table(
    ['target', 'requests', 'req/s', 'p50 ms', 'p99 ms', '200', 'non-2xx', 'errors', 'vs (a)', 'records ok'],
    results.map(r => [
      r.label, r.measured.requests, round(r.measured.rps), r.measured.latencyMs.p50, r.measured.latencyMs.p99, r.status200,
      r.measured.non2xx, r.measured.errors + r.measured.timeouts,
      baseline ? round(r.measured.rps / baseline.measured.rps, 3) : undefined,
      r.verification ? `${r.verification.records}/${r.verification.expected} records, ${r.verification.stored} files${r.verification.ok ? '' : ' MISMATCH'}` : 'n/a'
    ])
  ))
  const names = [...new Set(results.flatMap(r => Object.keys(r.cpuMsPerRequest)))]
  heading('CPU per request during the measured run (ms of CPU; cores used in parentheses)')
  console.log(table(['target', ...names], results.map(r => [r.label, ...names.map(n => r.cpuMsPerRequest[n] === undefined ? undefined : `${r.cpuMsPerRequest[n]} (${r.cores[n]})`)])))
  for (const r of results) {
    if (r.redis) console.log(`${r.label}: ${r.redis.perRequest} Redis commands per request (${r.redis.usecPerRequest} us of Redis time): ${r.redis.top.map(c => `${c.command} ${c.perRequest}`).join(', ')}`)
  }
  const local = results.find(r => r.key === 'local')
  if (baseline && local) {
    const ratio = local.measured.rps / baseline.measured.rps
    // Issue 2 asked 0.30 with a tuned worker; issue 13 asks 0.35 at the defaults users run.
    console.log(`\n(b)/(a) = ${round(ratio, 3)}: target >= 0.35 at defaults (issue 13) ${ratio >= 0.35 ? 'MET' : 'NOT MET'}`)
  }
  const dropbox = results.find(r => r.key === 'dropbox')
  if (baseline && dropbox) console.log(`(c)/(a) = ${round(dropbox.measured.rps / baseline.measured.rps, 3)}`)
  const gps = results.find(r => r.key === 'local-gps')
  if (gps && baseline) console.log(`(d)/(a) = ${round(gps.measured.rps / baseline.measured.rps, 3)}`)
  if (gps && local) {
    const ratio = gps.measured.rps / local.measured.rps
    console.log(`(d)/(b) = ${round(ratio, 3)} (GPS photos against the same photos without): target >= 0.85 ${ratio >= 0.85 ? 'MET' : 'NOT MET'}`)
    // On a busy machine (see `other`) req/s swings with others' load; the CPU each upload costs the
    // service's own processes does not: its inverse is the rate a machine of our own would reach.
    const own = (r: TargetResult): number => Object.entries(r.cpuMsPerRequest).filter(([name]) => name !== 'other' && name !== 'steal').reduce((n, [, ms]) => n + ms, 0)
    console.log(`(d)/(b) by CPU per upload of the service's own processes = ${round(own(local) / own(gps), 3)} (${round(own(local), 2)} ms / ${round(own(gps), 2)} ms)`)
  }
  const file = await writeResult('upload-throughput', { machine, options, results })
  console.log(`\nresult file: ${file}`)
  return { results, file }
}

if (import.meta.main) {
  runThroughput(parseThroughputArgs(process.argv.slice(2))).catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
