// Issue 9 §2, "Recovery in seconds, not minutes", measured with real processes:
// 1. kill -9 of a worker while `--clients` uploads are active on it (Dropbox emulator answering
//    slowly, so they are mid-way): how long until its jobs are found stalled and handed to a
//    second worker, and until every client has its 200; then that each file is stored once.
// 2. SIGTERM to the API while it holds an idle keep-alive connection and an unused one: how long
//    until it exits.
// Settings are the service's defaults (WORKER_LOCK_MS=5000, WORKER_STALLED_CHECK_MS=3000) unless
// --service-env says otherwise.
//   node bench/run.ts recovery [--clients 10] [--runs 3] [--service-env KEY=VALUE,...]
import http from 'node:http'
import { connect } from 'node:net'
import { readdir } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { QueueEvents } from 'bullmq'
import { loadConfig } from '../src/config.ts'
import { UPLOAD_QUEUE } from '../src/queue/upload-jobs.ts'
import { SERVICE_NODE_FLAGS } from '../scripts/lib/spawn.ts'
import { randomPng } from '../test/helpers/images.ts'
import { describeMachine, machineInfo } from './lib/machine.ts'
import { spawnNode, stopAll, waitFor } from './lib/processes.ts'
import { heading, note, table, writeResult } from './lib/report.ts'
import { LOG_DIR, parseServiceEnv, startEmulator, startInfra, startService, type Emulator, type RunningService } from './lib/stack.ts'
import { postUpload, uploadBody } from './lib/uploads.ts'

/** Emulator latency while the first worker holds the jobs: long enough that none finishes first. */
const SLOW_MS = 10_000

export interface RecoveryArgs {
  clients: number
  runs: number
  serviceEnv: Record<string, string>
}

export function parseRecoveryArgs (args: string[]): RecoveryArgs {
  const { values } = parseArgs({
    args,
    options: { clients: { type: 'string', default: '10' }, runs: { type: 'string', default: '3' }, 'service-env': { type: 'string', default: '' } },
    strict: true
  })
  return { clients: Number(values.clients), runs: Number(values.runs), serviceEnv: parseServiceEnv(values['service-env']) }
}

interface RunResult {
  run: number
  firstStalledMs: number
  lastStalledMs: number
  allAnsweredMs: number
  ok: number
  records: number
  files: number
  stagedLeft: number
  sigtermExitMs: number
  sigtermExitCode: number | string
}

const configure = async (emulator: Emulator, latencyMs: number): Promise<void> => {
  const res = await fetch(`${emulator.url}/__emulator/configure`, { method: 'POST', body: JSON.stringify({ latencyMs }) })
  if (!res.ok) throw new Error(`emulator configure: HTTP ${res.status}`)
}

async function killWorkerMidJob (service: RunningService, emulator: Emulator, clients: number, phone: string): Promise<Omit<RunResult, 'run' | 'sigtermExitMs' | 'sigtermExitCode'>> {
  const { queue, env } = service
  await configure(emulator, SLOW_MS)
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients })
  const answers = Array.from({ length: clients }, (_, i) =>
    postUpload(service.url, uploadBody(phone, `photo${i}.png`, randomPng(4096)), agent).then(r => ({ ...r, at: Date.now() })))
  await waitFor(`${clients} active jobs`, async () => await queue.getActiveCount() === clients, { intervalMs: 10, children: [service.api, ...service.workers] })
  const second = spawnNode(`${env.QUEUE_PREFIX} worker 2`, 'workers/upload-worker.ts', { env, nodeArgs: SERVICE_NODE_FLAGS, logFile: `${LOG_DIR}/${env.QUEUE_PREFIX}-worker-2.log` })
  service.workers.push(second)
  await waitFor('the second worker', async () => await queue.getWorkersCount() === 2, { children: [second] })
  const events = new QueueEvents(UPLOAD_QUEUE, { connection: { url: env.REDIS_URL }, prefix: env.QUEUE_PREFIX })
  await events.waitUntilReady()
  const stalledAt: number[] = []
  events.on('stalled', () => stalledAt.push(Date.now()))
  if (await queue.getActiveCount() !== clients) throw new Error('jobs finished before the kill: raise SLOW_MS')

  service.workers[0]!.process.kill('SIGKILL')
  const killedAt = Date.now()
  await service.workers[0]!.exited
  await configure(emulator, 0)
  const results = await Promise.all(answers)
  agent.destroy()
  await events.close()

  const files = (await emulator.files()).filter(f => f.path_lower.startsWith(`/${phone}/`)).length
  return {
    firstStalledMs: Math.min(...stalledAt) - killedAt,
    lastStalledMs: Math.max(...stalledAt) - killedAt,
    allAnsweredMs: Math.max(...results.map(r => r.at)) - killedAt,
    ok: results.filter(r => r.status === 200).length,
    records: await service.db.collection('images').countDocuments({ phone_number: phone }),
    files,
    // Files only: sub-directories (resumable uploads') are not staged files.
    stagedLeft: (await readdir(service.stagingDir, { withFileTypes: true })).filter(e => e.isFile()).length
  }
}

async function sigtermWithIdleClients (service: RunningService): Promise<{ sigtermExitMs: number, sigtermExitCode: number | string }> {
  const { port } = new URL(service.url)
  const agent = new http.Agent({ keepAlive: true })
  await new Promise<void>((resolve, reject) => {
    http.get(`${service.url}/health`, { agent }, res => { res.resume(); res.on('end', resolve) }).on('error', reject)
  })
  const unused = connect(Number(port), '127.0.0.1')
  unused.on('error', () => {})
  await new Promise(resolve => unused.once('connect', resolve))
  const started = Date.now()
  service.api.process.kill('SIGTERM')
  const code = await service.api.exited
  const took = Date.now() - started
  agent.destroy()
  unused.destroy()
  return { sigtermExitMs: took, sigtermExitCode: code }
}

export async function runRecovery ({ clients, runs, serviceEnv }: RecoveryArgs): Promise<RunResult[]> {
  const machine = machineInfo()
  heading(`Recovery: kill -9 of a worker with ${clients} active uploads; SIGTERM to an API with idle clients (${runs} runs)`)
  console.log(describeMachine(machine))
  const infra = await startInfra()
  const emulator = await startEmulator('recovery')
  const rows: RunResult[] = []
  try {
    for (let run = 1; run <= runs; run++) {
      const service = await startService({
        name: `recovery-${run}`,
        infra,
        env: { ...emulator.serviceEnv, DROPBOX_BATCH_WINDOW_MS: '10', WORKER_CONCURRENCY: String(Math.max(8, clients)), ...serviceEnv }
      })
      try {
        const kill = await killWorkerMidJob(service, emulator, clients, `80${run}`)
        const sigterm = await sigtermWithIdleClients(service)
        rows.push({ run, ...kill, ...sigterm })
        note(`run ${run}: ${JSON.stringify(rows.at(-1))}`)
      } finally {
        await service.stop()
      }
    }
  } finally {
    await emulator.stop()
    await infra.stop()
    await stopAll()
  }
  const { worker } = loadConfig({ WORKER_LOCK_MS: serviceEnv.WORKER_LOCK_MS, WORKER_STALLED_CHECK_MS: serviceEnv.WORKER_STALLED_CHECK_MS })
  const settings = `WORKER_LOCK_MS=${worker.lockMs} WORKER_STALLED_CHECK_MS=${worker.stalledCheckMs}`
  console.log(`\n${settings}; times from the kill / the signal, in ms`)
  console.log(table(
    ['run', 'first job taken over', 'last job taken over', 'all clients answered', '200s', 'records', 'files', 'staged left', 'SIGTERM exit', 'exit code'],
    rows.map(r => [r.run, r.firstStalledMs, r.lastStalledMs, r.allAnsweredMs, r.ok, r.records, r.files, r.stagedLeft, r.sigtermExitMs, String(r.sigtermExitCode)])
  ))
  const bad = rows.filter(r => r.ok !== clients || r.records !== clients || r.files !== clients || r.stagedLeft !== 0 || r.sigtermExitCode !== 0)
  if (bad.length > 0) {
    console.error(`runs with lost, duplicated or left-over files, or a failed exit: ${bad.map(r => r.run).join(', ')}`)
    process.exitCode = 1
  }
  const file = await writeResult('recovery', { machine, clients, settings, rows })
  console.log(`result file: ${file}`)
  return rows
}

if (import.meta.main) {
  runRecovery(parseRecoveryArgs(process.argv.slice(2))).catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
