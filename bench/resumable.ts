// Issue 10: one 20 MB image over a mobile link that drops the connection every 4 MB the phone
// sends (scripts/lib/flaky-proxy.ts, paced at the link's bandwidth). Plain multipart with client
// retries against tus with resume (tus-js-client, the reference client, Node build): bytes the
// client sent per byte stored, wall time, and the API's peak RSS. For scale, the same link
// without drops and with a single drop at 40%. Each run has a fresh service (API and one worker,
// local storage), so each peak is that run's own.
//   npm run bench -- resumable [--mb 20] [--cut-mb 4] [--mbit 16] [--attempts 10]   (MB: 10^6 bytes)
import { createHash } from 'node:crypto'
import { Agent } from 'node:http'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import * as tus from 'tus-js-client'
import { startFlakyProxy, type FlakyProxyOptions } from '../scripts/lib/flaky-proxy.ts'
import { randomPng } from '../test/helpers/images.ts'
import { describeMachine, machineInfo } from './lib/machine.ts'
import { MemorySampler } from './lib/memory.ts'
import { stopAll } from './lib/processes.ts'
import { heading, note, table, writeResult } from './lib/report.ts'
import { round } from './lib/stats.ts'
import { startInfra, startService, type Infra } from './lib/stack.ts'
import { postUpload, sha256File, uploadBody } from './lib/uploads.ts'

const MB = 1_000_000
/** The target: tus sends at most 1.1 bytes per byte stored on the dropping link. */
export const TUS_RATIO_TARGET = 1.1

export interface ResumableOptions {
  bytes: number
  cutEvery: number
  bytesPerSecond: number
  attempts: number
}

export function parseResumableArgs (args: string[]): ResumableOptions {
  const { values } = parseArgs({
    args,
    options: {
      mb: { type: 'string', default: '20' },
      'cut-mb': { type: 'string', default: '4' },
      mbit: { type: 'string', default: '16' },
      attempts: { type: 'string', default: '10' }
    },
    strict: true
  })
  return {
    bytes: Math.round(Number(values.mb) * MB),
    cutEvery: Math.round(Number(values['cut-mb']) * MB),
    bytesPerSecond: Number(values.mbit) * 1_000_000 / 8,
    attempts: Number(values.attempts)
  }
}

type Method = 'multipart' | 'tus'

interface Link {
  name: string
  cuts: Pick<FlakyProxyOptions, 'cutEveryBytes' | 'cutAtBytes'>
}

export interface RunResult {
  method: Method
  link: string
  stored: boolean
  /** The stored file's bytes are the bytes sent (sha256). */
  intact: boolean
  requests: number
  drops: number
  clientBytes: number
  /** clientBytes / file size, when stored. */
  ratio: number | null
  seconds: number
  /** The API's RSS once started, before the upload. */
  apiIdleMiB: number
  apiPeakMiB: number
  apiMaxSampledMiB: number
}

/** Multipart as a phone app does it without tus: the whole request again after each failure. */
async function multipartWithRetries (url: string, body: Buffer, attempts: number): Promise<{ ok: boolean, requests: number, answer?: string }> {
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const agent = new Agent({ keepAlive: false })
    try {
      const res = await postUpload(url, body, agent)
      if (res.status === 200) return { ok: true, requests: attempt, answer: res.body }
    } catch {
      // The link dropped: try again from the start.
    } finally {
      agent.destroy()
    }
  }
  return { ok: false, requests: attempts }
}

/** tus-js-client: creation, then PATCH; after a drop, HEAD and PATCH from the offset. */
async function tusWithResume (url: string, image: Buffer, attempts: number): Promise<{ ok: boolean, requests: number, answer?: string }> {
  let requests = 0
  return await new Promise(resolve => {
    const upload = new tus.Upload(image, {
      endpoint: `${url}/api/tus/`,
      metadata: { phone_number: '5550002020', filename: 'big.png', filetype: 'image/png' },
      // Retries count failures in a row; any progress starts the count again.
      retryDelays: Array.from({ length: attempts }, () => 100),
      onBeforeRequest: () => { requests++ },
      onSuccess: ({ lastResponse }) => resolve({ ok: lastResponse.getStatus() === 200, requests, answer: lastResponse.getBody() }),
      onError: () => resolve({ ok: false, requests })
    })
    upload.start()
  })
}

async function run (infra: Infra, options: ResumableOptions, method: Method, link: Link, image: Buffer, sha256: string): Promise<RunResult> {
  const service = await startService({
    name: `resumable-${method}-${link.name.replace(/[^a-z0-9]+/gi, '-')}`,
    infra,
    env: { STORAGE: 'local', UPLOAD_MAX_FILE_BYTES: String(4 * options.bytes), UPLOAD_WAIT_MS: String(10 * 60_000) }
  })
  const proxy = await startFlakyProxy({ target: { host: '127.0.0.1', port: Number(new URL(service.url).port) }, bytesPerSecond: options.bytesPerSecond, ...link.cuts })
  const sampler = await MemorySampler.start([{ name: 'api', pid: service.api.pid }])
  const started = performance.now()
  const outcome = method === 'multipart'
    ? await multipartWithRetries(proxy.url, uploadBody('5550002020', 'big.png', image), options.attempts)
    : await tusWithResume(proxy.url, image, options.attempts)
  const seconds = (performance.now() - started) / 1000
  const [api] = await sampler.stop()
  const stats = proxy.stats()
  await proxy.close()
  let intact = false
  if (outcome.ok) {
    const fileName = (JSON.parse(outcome.answer!) as { results: Array<{ filename: string }> }).results[0]!.filename
    intact = await sha256File(join(service.dataDir, '5550002020', fileName)).catch(() => '') === sha256
  }
  await service.stop()
  return {
    method,
    link: link.name,
    stored: outcome.ok,
    intact,
    requests: outcome.requests,
    drops: stats.cuts,
    clientBytes: stats.clientBytes,
    ratio: outcome.ok ? round(stats.clientBytes / image.length, 3) : null,
    seconds: round(seconds, 1),
    apiIdleMiB: api!.startRssMiB,
    apiPeakMiB: api!.vmHwmMiB,
    apiMaxSampledMiB: api!.maxSampledRssMiB
  }
}

export async function runResumable (options: ResumableOptions): Promise<RunResult[]> {
  const machine = machineInfo()
  const mb = (n: number): number => round(n / MB, 1)
  const speed = options.bytesPerSecond > 0 ? `${options.bytesPerSecond * 8 / 1e6} Mbit/s` : 'unthrottled'
  heading(`Resumable uploads: one ${mb(options.bytes)} MB image over a link that drops every ${mb(options.cutEvery)} MB (${speed})`)
  console.log(describeMachine(machine))
  const image = randomPng(options.bytes)
  const sha256 = createHash('sha256').update(image).digest('hex')
  const links: Link[] = [
    { name: 'no drops', cuts: {} },
    { name: 'one drop at 40%', cuts: { cutAtBytes: [Math.round(image.length * 0.4)] } },
    { name: `drops every ${mb(options.cutEvery)} MB`, cuts: { cutEveryBytes: options.cutEvery } }
  ]
  const infra = await startInfra()
  const results: RunResult[] = []
  try {
    for (const link of links) {
      for (const method of ['multipart', 'tus'] as const) {
        note(`${method}, ${link.name}`)
        results.push(await run(infra, options, method, link, image, sha256))
      }
    }
  } finally {
    await stopAll()
    await infra.stop()
  }

  console.log(table(
    ['method', 'link', 'stored', 'requests', 'drops', 'client sent MB', 'sent / stored', 'wall s', 'API RSS idle MiB', 'API peak RSS MiB'],
    results.map(r => [r.method, r.link, r.stored ? (r.intact ? 'yes, intact' : 'yes, BYTES DIFFER') : 'no', r.requests, r.drops, mb(r.clientBytes), r.ratio ?? '∞ (never stored)', r.seconds, r.apiIdleMiB, r.apiPeakMiB])
  ))
  const target = results.find(r => r.method === 'tus' && r.link === links[2]!.name)!
  const met = target.stored && target.intact && target.ratio !== null && target.ratio <= TUS_RATIO_TARGET
  console.log(`target: tus sends <= ${TUS_RATIO_TARGET} bytes per byte stored on the dropping link: ${met ? 'MET' : 'NOT MET'} (${target.ratio ?? 'not stored'})`)
  const file = await writeResult('resumable', { machine, options, results })
  console.log(`result file: ${file}`)
  return results
}

if (import.meta.main) {
  runResumable(parseResumableArgs(process.argv.slice(2))).catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
