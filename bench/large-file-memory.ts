// Peak memory while one 1 GiB file is uploaded (issue 2: local storage; issue 3: Dropbox
// storage). The API and one worker run as their own processes with UPLOAD_MAX_FILE_BYTES above
// 1 GiB; the client generates the file while it streams it (nothing is held whole); VmRSS of both
// processes is polled from /proc every 100 ms and VmHWM, the kernel's peak, is read at the end.
// The stored file is then checked against the bytes sent (size and hash).
//   node bench/run.ts memory [--storage local|dropbox] [--mib 1024] [--latency-ms 0] [--node-args='...']
//     [--service-env DROPBOX_CHUNK_BYTES=8388608,...]
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { describeMachine, machineInfo } from './lib/machine.ts'
import { MemorySampler, type MemoryPeak } from './lib/memory.ts'
import { stopAll } from './lib/processes.ts'
import { heading, note, table, writeResult } from './lib/report.ts'
import { round } from './lib/stats.ts'
import { parseServiceEnv, startEmulator, startInfra, startService, type Emulator } from './lib/stack.ts'
import { postGeneratedUpload, sha256File } from './lib/uploads.ts'

const MiB = 1024 * 1024
export const MEMORY_LIMIT_MIB = 200

export interface LargeFileOptions {
  storage: 'local' | 'dropbox'
  mib: number
  /** Emulator flags for the Dropbox run (issue 3 uses its benchmark's latency and contention). */
  emulatorArgs: string[]
  /** Extra node flags for the API and worker, for experiments (e.g. "--max-semi-space-size=2"). */
  nodeArgs: string[]
  /** Extra settings for the service, e.g. DROPBOX_CHUNK_BYTES=8388608. */
  serviceEnv: Record<string, string>
}

export function parseLargeFileArgs (args: string[]): LargeFileOptions {
  const { values } = parseArgs({
    args,
    options: {
      storage: { type: 'string', default: 'local' },
      mib: { type: 'string', default: '1024' },
      'latency-ms': { type: 'string', default: '0' },
      'node-args': { type: 'string', default: '' },
      'service-env': { type: 'string', default: '' }
    },
    strict: true
  })
  if (values.storage !== 'local' && values.storage !== 'dropbox') throw new Error('--storage is local or dropbox')
  return { storage: values.storage, mib: Number(values.mib), emulatorArgs: ['--latency-ms', values['latency-ms']], nodeArgs: values['node-args'].split(' ').filter(Boolean), serviceEnv: parseServiceEnv(values['service-env']) }
}

export interface LargeFileResult {
  storage: string
  bytes: number
  status: number
  seconds: number
  peaks: MemoryPeak[]
  stored: { path: string, size: number, hashMatches: boolean }
  underLimit: boolean
  emulatorCalls?: Record<string, number>
}

export async function runLargeFile (options: LargeFileOptions): Promise<LargeFileResult> {
  const machine = machineInfo()
  const bytes = options.mib * MiB
  heading(`Peak RSS while one ${options.mib} MiB file is uploaded, ${options.storage} storage`)
  console.log(describeMachine(machine))
  const infra = await startInfra()
  let emulator: Emulator | undefined
  try {
    if (options.storage === 'dropbox') emulator = await startEmulator('large-file', options.emulatorArgs)
    const service = await startService({
      name: `large-file-${options.storage}`,
      infra,
      nodeArgs: options.nodeArgs,
      env: {
        STORAGE: 'local',
        ...emulator?.serviceEnv,
        UPLOAD_MAX_FILE_BYTES: String(2 * 1024 * MiB),
        UPLOAD_WAIT_MS: String(20 * 60_000),
        WORKER_CONCURRENCY: '8',
        ...options.serviceEnv
      }
    })
    const sampler = await MemorySampler.start([{ name: 'api', pid: service.api.pid }, { name: 'worker', pid: service.workers[0]!.pid }])
    note(`streaming ${options.mib} MiB to ${service.url}`)
    const phone = '5550001024'
    const response = await postGeneratedUpload(service.url, phone, 'large.png', bytes)
    const peaks = await sampler.stop()
    if (response.status !== 200) throw new Error(`upload answered ${response.status}: ${response.body.slice(0, 500)}`)
    const fileName = (JSON.parse(response.body) as { results: Array<{ filename: string }> }).results[0]!.filename
    note('checking the stored file')
    let stored: LargeFileResult['stored']
    if (emulator) {
      const file = (await emulator.files()).find(f => f.path_lower === `/${phone}/${fileName}`.toLowerCase())
      if (!file) throw new Error(`no /${phone}/${fileName} in the emulator`)
      stored = { path: file.path_display, size: file.size, hashMatches: file.size === bytes && file.content_hash === response.sent.dropboxContentHash }
    } else {
      const path = join(service.dataDir, phone, fileName)
      const size = (await stat(path)).size
      stored = { path, size, hashMatches: size === bytes && await sha256File(path) === response.sent.sha256 }
    }
    const emulatorCalls = emulator ? (await emulator.counters()).calls : undefined
    await service.stop()
    const result: LargeFileResult = {
      storage: options.storage,
      bytes,
      status: response.status,
      seconds: round(response.ms / 1000, 1),
      peaks,
      stored,
      underLimit: peaks.every(p => p.vmHwmMiB < MEMORY_LIMIT_MIB),
      emulatorCalls
    }
    console.log(table(
      ['process', 'RSS idle MiB', 'max sampled RSS MiB', 'VmHWM (peak) MiB', `< ${MEMORY_LIMIT_MIB} MiB`],
      peaks.map(p => [p.name, p.startRssMiB, p.maxSampledRssMiB, p.vmHwmMiB, p.vmHwmMiB < MEMORY_LIMIT_MIB ? 'yes' : 'NO'])
    ))
    console.log(`upload: HTTP ${response.status} in ${result.seconds} s (${round(options.mib / (response.ms / 1000))} MiB/s end to end)`)
    console.log(`stored: ${stored.path}, ${stored.size} bytes, ${stored.hashMatches ? 'size and hash match the bytes sent' : 'MISMATCH'}`)
    if (emulatorCalls) console.log(`emulator calls: ${JSON.stringify(emulatorCalls)}`)
    console.log(`target: API and worker peak RSS < ${MEMORY_LIMIT_MIB} MiB: ${result.underLimit ? 'MET' : 'NOT MET'}`)
    const file = await writeResult(`large-file-${options.storage}`, { machine, options, result, timeline: sampler.timeline })
    console.log(`result file: ${file}`)
    return result
  } finally {
    await stopAll()
    await infra.stop()
  }
}

if (import.meta.main) {
  runLargeFile(parseLargeFileArgs(process.argv.slice(2))).catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
