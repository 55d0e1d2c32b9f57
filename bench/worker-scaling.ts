// Issue 13: upload workers scale under storage latency. Target: images/s with 2 upload worker
// processes / 1 worker process >= 1.8, the Dropbox emulator answering every call after
// --latency-ms (100) and letting one commit at a time run per account (--write-contention 1:1,
// as in the strategies benchmark: a second concurrent commit gets 429 too_many_write_operations).
// The service runs at its defaults (WORKER_CONCURRENCY unset: 50 jobs per worker with Dropbox;
// batch strategy, 50 ms window, commits serialized across processes by the Redis commit lock).
// For each worker count (each round): a fresh emulator and service (one API, N upload workers, no
// variant worker), a 20-upload warm-up, then --images distinct PNGs over --phones numbers posted
// once each by --clients keep-alive clients (more than the workers' 50 x N jobs in flight, so the
// queue is never empty and the workers, not the client, set the pace). images/s counts from the
// first job queued to the last job completed (BullMQ's timestamps). Correctness as in the
// strategies benchmark: failed uploads, missing and duplicate files and records.
// Where the time goes: jobs in flight and waiting (sampled every 100 ms), each job's time in the
// queue and in the worker, the workers' own metrics (WORKER_METRICS_PORT: storage put = session
// upload + waiting for and running the commit; publicUrl = create_shared_link; batch sizes),
// and how much of the time the Redis commit lock was held (sampled every 5 ms). --service-env
// changes the service's settings for a diagnosis only: the target is measured without it.
//   node bench/run.ts worker-scaling [--workers 1,2] [--images 2000] [--clients 200] [--phones 50] [--image-kb 20] [--latency-ms 100] [--rounds 2] [--service-env K=V,...]
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { WORKER_CONCURRENCY_DEFAULTS } from '../src/config.ts'
import { freePort } from '../scripts/lib/services.ts'
import { checkStored, makeUploads, postAll, type StoredCheck } from './lib/distinct-uploads.ts'
import { describeMachine, machineInfo } from './lib/machine.ts'
import { CpuMeter, stopAll } from './lib/processes.ts'
import { heading, note, table, writeResult } from './lib/report.ts'
import { round, summarize, type LatencySummary } from './lib/stats.ts'
import { databaseTrees, parseServiceEnv, startEmulator, startInfra, startService, type EmulatorCounters, type Infra, type RunningService } from './lib/stack.ts'

const TARGET = 1.8

export interface ScalingOptions {
  workers: number[]
  images: number
  clients: number
  phones: number
  imageBytes: number
  latencyMs: number
  rounds: number
  /** Settings over the defaults (a diagnosis, e.g. WORKER_CONCURRENCY=100 with one worker); none by default. */
  serviceEnv: Record<string, string>
}

export function parseScalingArgs (args: string[]): ScalingOptions {
  const { values } = parseArgs({
    args,
    options: {
      workers: { type: 'string', default: '1,2' },
      images: { type: 'string', default: '2000' },
      clients: { type: 'string', default: '200' },
      phones: { type: 'string', default: '50' },
      'image-kb': { type: 'string', default: '20' },
      'latency-ms': { type: 'string', default: '100' },
      rounds: { type: 'string', default: '2' },
      'service-env': { type: 'string', default: '' }
    },
    strict: true
  })
  return {
    workers: values.workers.split(',').map(Number),
    images: Number(values.images),
    clients: Number(values.clients),
    phones: Number(values.phones),
    imageBytes: Number(values['image-kb']) * 1024,
    latencyMs: Number(values['latency-ms']),
    rounds: Number(values.rounds),
    serviceEnv: parseServiceEnv(values['service-env'])
  }
}

/** One worker process's figures over the measured uploads, from its /metrics (after - before). */
interface WorkerFigures {
  jobs: number
  jobMs: number
  putMs: number
  publicUrlMs: number
  commits: number
  entriesPerCommit: number
  rateLimited: number
  retries: number
  eventLoopLagP99Ms: number
}

export interface ScalingResult {
  workers: number
  round: number
  images: number
  /** First job queued to last job completed. */
  seconds: number
  imagesPerSecond: number
  /** Between the 10th and the 90th percentile of completions: without the ramp-up and the drain. */
  steadyImagesPerSecond: number
  /** First request sent to last answer received. */
  clientSeconds: number
  latencyMs: LatencySummary
  statuses: Record<string, number>
  failedUploads: number
  failedJobs: number
  retriedJobs: number
  check: StoredCheck
  counters: EmulatorCounters
  rateLimited: number
  cpuMsPerImage: Record<string, number>
  cores: Record<string, number>
  /** Jobs in the workers and in the queue, sampled while the uploads ran. */
  inFlight: { meanActive: number, meanWaiting: number, samplesWithWaiting: number }
  /** Per job (BullMQ timestamps): queued to started, started to finished. */
  queueWaitMs: LatencySummary
  runMs: LatencySummary
  /** Share of 5 ms samples in which the Redis commit lock was held. */
  commitLockHeld: number
  /** Lock held time over the commits: the time one commit keeps every other waiting. */
  lockMsPerCommit: number
  perWorker: WorkerFigures[]
}

/** Sums the samples of `name` (with all of `labels`) in a Prometheus text exposition. */
function metric (text: string, name: string, labels: string[] = []): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    if (!labels.every(l => line.includes(l))) continue
    sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

async function scrape (port: number): Promise<string> {
  return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
}

function workerFigures (before: string, after: string): WorkerFigures {
  const delta = (name: string, labels: string[] = []): number => metric(after, name, labels) - metric(before, name, labels)
  const mean = (name: string, labels: string[]): number => round(delta(`${name}_sum`, labels) / delta(`${name}_count`, labels) * 1000, 0)
  const done = ['outcome="completed"']
  const commits = delta('image_upload_dropbox_batch_entries_count')
  return {
    jobs: delta('image_upload_job_duration_seconds_count', done),
    jobMs: mean('image_upload_job_duration_seconds', done),
    putMs: mean('image_upload_storage_call_duration_seconds', ['operation="put"']),
    publicUrlMs: mean('image_upload_storage_call_duration_seconds', ['operation="publicUrl"']),
    commits,
    entriesPerCommit: round(delta('image_upload_dropbox_batch_entries_sum') / commits, 1),
    rateLimited: delta('image_upload_storage_rate_limited_total'),
    retries: delta('image_upload_job_retries_total'),
    // prom-client restarts its event loop delay histogram at every scrape: this is the run's.
    eventLoopLagP99Ms: round(metric(after, 'nodejs_eventloop_lag_p99_seconds') * 1000, 0)
  }
}

/** Calls `sample` every `intervalMs` until the returned stop is called. */
function sampler (intervalMs: number, sample: () => Promise<void>): () => Promise<void> {
  const state = { stopped: false }
  const loop = (async () => {
    while (!state.stopped) {
      await sample()
      await sleep(intervalMs)
    }
  })()
  return async () => {
    state.stopped = true
    await loop
  }
}

async function runOne (workers: number, roundNo: number, options: ScalingOptions, infra: Infra): Promise<ScalingResult> {
  const name = `scaling-${workers}w-r${roundNo}`
  const emulator = await startEmulator(name, ['--latency-ms', String(options.latencyMs), '--write-contention', '1:1'])
  const metricsPorts = await Promise.all(Array.from({ length: workers }, () => freePort()))
  let service: RunningService | undefined
  try {
    service = await startService({ name, infra, workers, env: { ...emulator.serviceEnv, ...options.serviceEnv }, workerEnv: i => ({ WORKER_METRICS_PORT: String(metricsPorts[i]) }) })
    const prefix = `4${workers}${roundNo}`
    const warm = makeUploads({ images: 20, phones: 2, imageBytes: options.imageBytes }, `${prefix}9`)
    note(`${workers} worker(s), round ${roundNo}: warm-up (${warm.length} uploads, not counted)`)
    await postAll(service.url, warm, 10)
    await service.waitIdle()
    await emulator.reset()

    const uploads = makeUploads(options, `${prefix}0`)
    const phones = new Set(uploads.map(u => u.phone))
    note(`${workers} worker(s), round ${roundNo}: posting ${uploads.length} uploads from ${options.clients} clients`)
    const before = await Promise.all(metricsPorts.map(scrape))
    const lockKey = `${service.env.QUEUE_PREFIX}:dropbox-commit-lock`
    const redis = new Redis(infra.redisUrl, { maxRetriesPerRequest: 1 })
    const lock = { held: 0, samples: 0, since: performance.now(), ms: 0 }
    const flight = { active: 0, waiting: 0, withWaiting: 0, samples: 0 }
    const { queue } = service
    const stopLock = sampler(5, async () => {
      lock.held += await redis.exists(lockKey)
      lock.samples++
    })
    const stopFlight = sampler(100, async () => {
      const counts = await queue.getJobCounts('active', 'wait', 'prioritized', 'delayed')
      const waiting = (counts.wait ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0)
      flight.active += counts.active ?? 0
      flight.waiting += waiting
      if (waiting > 0) flight.withWaiting++
      flight.samples++
    })
    const cpu = await CpuMeter.start({
      api: service.api.pid,
      ...Object.fromEntries(service.workers.map((w, i) => [`worker ${i + 1}`, w.pid])),
      emulator: emulator.child.pid,
      redis: infra.redis.process.pid!,
      ferretdb: infra.ferret.process.pid!
    }, databaseTrees(infra))
    const { responses, startedAt, doneAt } = await postAll(service.url, uploads, options.clients)
    const statuses: Record<string, number> = {}
    for (const r of responses) statuses[r.status] = (statuses[r.status] ?? 0) + 1
    if (statuses['202']) {
      note(`${statuses['202']} answers were 202; waiting for their jobs`)
      await service.waitIdle(10 * 60_000)
    }
    const { cpuMsPerRequest: cpuMsPerImage, cores } = await cpu.stop(uploads.length)
    await stopLock()
    lock.ms = performance.now() - lock.since
    await stopFlight()
    redis.disconnect()
    const after = await Promise.all(metricsPorts.map(scrape))

    // The measured jobs (the warm-up's are under other phone numbers); completed jobs are kept a day.
    const jobs = (await queue.getJobs(['completed'], 0, -1)).filter(j => phones.has(j.data.phoneNumber))
    const firstQueued = Math.min(...jobs.map(j => j.timestamp))
    const lastDone = Math.max(...jobs.map(j => j.finishedOn!))
    const seconds = (lastDone - firstQueued) / 1000
    const done = jobs.map(j => j.finishedOn!).sort((a, b) => a - b)
    const [from, to] = [Math.floor(done.length * 0.1), Math.floor(done.length * 0.9) - 1]
    const { failed: failedJobs } = await service.jobCounts()
    const counters = await emulator.counters()
    const { check, failedUploads } = await checkStored(uploads, responses, emulator, service.db)
    return {
      workers,
      round: roundNo,
      images: uploads.length,
      seconds: round(seconds, 2),
      imagesPerSecond: round(jobs.length / seconds, 1),
      steadyImagesPerSecond: round((to - from) / ((done[to]! - done[from]!) / 1000), 1),
      clientSeconds: round((doneAt - startedAt) / 1000, 2),
      latencyMs: summarize(responses.map(r => r.ms)),
      statuses,
      failedUploads,
      failedJobs,
      retriedJobs: jobs.filter(j => j.attemptsStarted > 1).length,
      check,
      counters,
      rateLimited: counters.tooManyWriteOperations + counters.tooManyRequests,
      cpuMsPerImage,
      cores,
      inFlight: {
        meanActive: round(flight.active / flight.samples, 1),
        meanWaiting: round(flight.waiting / flight.samples, 1),
        samplesWithWaiting: round(flight.withWaiting / flight.samples, 2)
      },
      queueWaitMs: summarize(jobs.map(j => j.processedOn! - j.timestamp)),
      runMs: summarize(jobs.map(j => j.finishedOn! - j.processedOn!)),
      commitLockHeld: round(lock.held / lock.samples, 2),
      lockMsPerCommit: round(lock.held / lock.samples * lock.ms / counters.commits, 0),
      perWorker: before.map((text, i) => workerFigures(text, after[i]!))
    }
  } finally {
    await service?.stop()
    await emulator.stop()
  }
}

export async function runWorkerScaling (options: ScalingOptions): Promise<ScalingResult[]> {
  const machine = machineInfo()
  heading(`Upload workers under storage latency: ${options.images} images of ${options.imageBytes / 1024} KB, ${options.phones} phone numbers, ${options.clients} clients; ` +
    `emulator latency ${options.latencyMs} ms, one commit at a time; ` +
    (Object.keys(options.serviceEnv).length > 0 ? `NOT the defaults: ${JSON.stringify(options.serviceEnv)}` : `service defaults (WORKER_CONCURRENCY unset: ${WORKER_CONCURRENCY_DEFAULTS.dropbox} per worker)`))
  console.log(describeMachine(machine))
  const infra = await startInfra()
  const results: ScalingResult[] = []
  try {
    for (let r = 1; r <= options.rounds; r++) {
      for (const workers of options.workers) results.push(await runOne(workers, r, options, infra))
    }
  } finally {
    await stopAll()
    await infra.stop()
  }
  // Each run against the run with the fewest workers of its round.
  const base = (r: ScalingResult): ScalingResult => results.filter(x => x.round === r.round).reduce((a, b) => b.workers < a.workers ? b : a)
  const ratio = (r: ScalingResult): number => round(r.imagesPerSecond / base(r).imagesPerSecond, 2)
  const steadyRatio = (r: ScalingResult): number => round(r.steadyImagesPerSecond / base(r).steadyImagesPerSecond, 2)

  heading('Results (images/s: first job queued to last job completed)')
  console.log(table(
    ['workers', 'round', 'images', 'seconds', 'images/s', 'ratio', 'steady images/s', 'steady ratio', 'client s', 'p50 ms', 'p99 ms', 'HTTP statuses', 'failed', 'failed jobs', 'retried', 'dup files', 'dup docs', 'missing', '429s'],
    results.map(r => [
      r.workers, r.round, r.images, r.seconds, r.imagesPerSecond, ratio(r), r.steadyImagesPerSecond, steadyRatio(r), r.clientSeconds, Math.round(r.latencyMs.p50), Math.round(r.latencyMs.p99), JSON.stringify(r.statuses),
      r.failedUploads, r.failedJobs, r.retriedJobs, r.check.duplicateFiles, r.check.duplicateRecords, r.check.missingFiles + r.check.missingRecords, r.rateLimited
    ])
  ))
  heading('CPU while the uploads ran: cores used (ms of CPU per image)')
  // The processes of the run with the most workers first (api, worker 1, worker 2...), then the rest.
  const names = [...new Set([...results].sort((a, b) => b.workers - a.workers).flatMap(r => Object.keys(r.cores)))]
  console.log(table(['workers', 'round', ...names, 'total'], results.map(r => [
    r.workers, r.round, ...names.map(n => r.cores[n] === undefined ? undefined : `${r.cores[n]} (${r.cpuMsPerImage[n]})`),
    round(Object.entries(r.cores).filter(([n]) => n !== 'steal').reduce((a, [, c]) => a + c, 0), 2)
  ])))
  heading('Where the time goes (means; per-worker figures from each worker\'s /metrics)')
  console.log(table(
    ['workers', 'round', 'active jobs', 'waiting jobs', 'queue non-empty', 'queue wait ms', 'job ms', 'job p99 ms', 'commits', 'files/commit', 'commit lock held', 'lock ms/commit'],
    results.map(r => [
      r.workers, r.round, r.inFlight.meanActive, r.inFlight.meanWaiting, r.inFlight.samplesWithWaiting, Math.round(r.queueWaitMs.mean), Math.round(r.runMs.mean), Math.round(r.runMs.p99),
      r.counters.commits, round(r.counters.batchEntries / r.counters.commits, 1), r.commitLockHeld, r.lockMsPerCommit
    ])
  ))
  console.log(table(
    ['workers', 'round', 'worker', 'jobs', 'job ms', 'put ms', 'publicUrl ms', 'commits', 'files/commit', '429s', 'retries', 'loop lag p99 ms'],
    results.flatMap(r => r.perWorker.map((w, i) => [
      r.workers, r.round, i + 1, w.jobs, w.jobMs, w.putMs, w.publicUrlMs, w.commits, w.entriesPerCommit, w.rateLimited, w.retries, w.eventLoopLagP99Ms
    ]))
  ))
  const scaled = results.filter(r => r.workers === 2)
  if (scaled.length > 0 && options.workers.includes(1)) {
    const ratios = scaled.map(ratio)
    const worst = Math.min(...ratios)
    const clean = results.every(r => r.failedUploads === 0 && r.failedJobs === 0 && r.check.duplicateFiles === 0 && r.check.duplicateRecords === 0 &&
      r.check.missingFiles === 0 && r.check.missingRecords === 0)
    console.log(`\n2 workers / 1 worker = ${ratios.join(', ')}: target >= ${TARGET} ${worst >= TARGET ? 'MET' : 'NOT MET'}; zero failed/duplicate/missing: ${clean ? 'MET' : 'NOT MET'}`)
  }
  console.log(`result file: ${await writeResult('worker-scaling', { machine, options, results })}`)
  return results
}

if (import.meta.main) {
  runWorkerScaling(parseScalingArgs(process.argv.slice(2))).catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
