// Peak memory of the API while many phones upload at once (issue 11): --clients uploads of
// --mib MiB each (200 x 5 MiB by default), all started together over their own connections, into
// the API and one worker as separate processes (local storage). Every client generates its PNG
// while it streams it (nothing is held whole on the client side). VmRSS of both processes is
// polled from /proc every 100 ms and VmHWM, the kernel's peak, is read at the end; the target is
// an API peak under 250 MiB. Every upload must be answered 200 and stored, so load shedding by
// event loop delay is off here (on a 2-core machine that also runs the 200 clients, the API's
// loop lags past PRESSURE_MAX_EVENT_LOOP_DELAY_MS and it would refuse part of the burst: the
// figure would be of fewer uploads); the API's own /metrics gives its event loop lag afterwards.
//   node bench/run.ts concurrent-memory [--clients 200] [--mib 5] [--node-args='...'] [--service-env K=V,...]
import { readdir } from 'node:fs/promises'
import { Agent, request } from 'node:http'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import { describeMachine, machineInfo } from './lib/machine.ts'
import { MemorySampler, readMemory, type MemoryPeak } from './lib/memory.ts'
import { stopAll } from './lib/processes.ts'
import { heading, note, table, writeResult } from './lib/report.ts'
import { round, summarize, type LatencySummary } from './lib/stats.ts'
import { parseServiceEnv, startInfra, startService } from './lib/stack.ts'
import { BOUNDARY, generatedPng, MULTIPART_HEADERS } from './lib/uploads.ts'

const MiB = 1024 * 1024
export const API_LIMIT_MIB = 250

export interface ConcurrentMemoryOptions {
  clients: number
  mib: number
  nodeArgs: string[]
  serviceEnv: Record<string, string>
}

export function parseConcurrentMemoryArgs (args: string[]): ConcurrentMemoryOptions {
  const { values } = parseArgs({
    args,
    options: {
      clients: { type: 'string', default: '200' },
      mib: { type: 'string', default: '5' },
      'node-args': { type: 'string', default: '' },
      'service-env': { type: 'string', default: '' }
    },
    strict: true
  })
  return { clients: Number(values.clients), mib: Number(values.mib), nodeArgs: values['node-args'].split(' ').filter(Boolean), serviceEnv: parseServiceEnv(values['service-env']) }
}

export interface ConcurrentMemoryResult {
  clients: number
  bytesPerUpload: number
  seconds: number
  statuses: Record<string, number>
  latencyMs: LatencySummary
  stored: number
  peaks: MemoryPeak[]
  /** RSS of the API a few seconds after the last answer. */
  apiRssAfterMiB: number
  /** The API's event loop lag over its life (its /metrics), in ms. */
  eventLoop: { p99Ms: number, maxMs: number }
  underLimit: boolean
}

/** One upload of a generated PNG of `bytes`, over its own connection. */
async function upload (url: string, agent: Agent, phone: string, name: string, bytes: number): Promise<{ status: number, ms: number }> {
  const head = Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="phone_number"\r\n\r\n${phone}\r\n` +
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="images"; filename="${name}"\r\nContent-Type: image/png\r\n\r\n`)
  const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`)
  async function * body (): AsyncGenerator<Buffer> {
    yield head
    yield * generatedPng(bytes)
    yield tail
  }
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const req = request(`${url}/api/upload/`, {
      method: 'POST',
      agent,
      headers: { ...MULTIPART_HEADERS, 'content-length': String(head.length + bytes + tail.length) }
    }, res => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }))
      res.on('error', reject)
    })
    req.on('error', reject)
    pipeline(Readable.from(body()), req).catch(reject)
  })
}

export async function runConcurrentMemory (options: ConcurrentMemoryOptions): Promise<ConcurrentMemoryResult> {
  const machine = machineInfo()
  heading(`Peak RSS while ${options.clients} clients upload ${options.mib} MiB each at once, local storage`)
  console.log(describeMachine(machine))
  const infra = await startInfra()
  try {
    const service = await startService({
      name: 'concurrent-memory',
      infra,
      nodeArgs: options.nodeArgs,
      env: { STORAGE: 'local', UPLOAD_WAIT_MS: String(10 * 60_000), WORKER_CONCURRENCY: '8', PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0', ...options.serviceEnv }
    })
    const sampler = await MemorySampler.start([{ name: 'api', pid: service.api.pid }, { name: 'worker', pid: service.workers[0]!.pid }])
    const agent = new Agent({ keepAlive: false, maxSockets: options.clients })
    const bytes = options.mib * MiB
    const phone = '5550002000'
    note(`${options.clients} uploads of ${options.mib} MiB to ${service.url}`)
    const started = performance.now()
    const answers = await Promise.all(Array.from({ length: options.clients }, (_, i) =>
      upload(service.url, agent, phone, `concurrent-${i}.png`, bytes).catch(() => ({ status: 0, ms: 0 }))))
    const seconds = round((performance.now() - started) / 1000, 1)
    const peaks = await sampler.stop()
    agent.destroy()
    const apiRssAfterMiB = round((await readMemory(service.api.pid)).vmRssKiB / 1024)
    const metrics = await (await fetch(`${service.url}/metrics`)).text()
    const series = (name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metrics)?.[1] ?? Number.NaN)
    const eventLoop = { p99Ms: round(series('nodejs_eventloop_lag_p99_seconds') * 1000), maxMs: round(series('nodejs_eventloop_lag_max_seconds') * 1000) }
    const stored = (await readdir(join(service.dataDir, phone)).catch(() => [])).length
    await service.stop()

    const statuses: Record<string, number> = {}
    for (const a of answers) statuses[a.status] = (statuses[a.status] ?? 0) + 1
    const api = peaks.find(p => p.name === 'api')!
    const result: ConcurrentMemoryResult = {
      clients: options.clients,
      bytesPerUpload: bytes,
      seconds,
      statuses,
      latencyMs: summarize(answers.map(a => a.ms).sort((a, b) => a - b)),
      stored,
      peaks,
      apiRssAfterMiB,
      eventLoop,
      underLimit: api.vmHwmMiB < API_LIMIT_MIB
    }
    console.log(table(
      ['process', 'RSS idle MiB', 'max sampled RSS MiB', 'VmHWM (peak) MiB'],
      peaks.map(p => [p.name, p.startRssMiB, p.maxSampledRssMiB, p.vmHwmMiB])
    ))
    console.log(`answers: ${JSON.stringify(statuses)} in ${seconds} s; latency p50 ${round(result.latencyMs.p50)} ms, p99 ${round(result.latencyMs.p99)} ms; ${stored} files stored`)
    console.log(`API event loop lag: p99 ${eventLoop.p99Ms} ms, max ${eventLoop.maxMs} ms; RSS a moment after the last answer ${apiRssAfterMiB} MiB`)
    console.log(`target: API peak RSS < ${API_LIMIT_MIB} MiB with ${options.clients} concurrent ${options.mib} MiB uploads: ${result.underLimit ? 'MET' : 'NOT MET'}`)
    if (statuses['200'] !== options.clients || stored !== options.clients) console.log('WARNING: not every upload was answered 200 and stored')
    const file = await writeResult('concurrent-memory', { machine, options, result, timeline: sampler.timeline })
    console.log(`result file: ${file}`)
    return result
  } finally {
    await stopAll()
    await infra.stop()
  }
}

if (import.meta.main) {
  runConcurrentMemory(parseConcurrentMemoryArgs(process.argv.slice(2))).catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
