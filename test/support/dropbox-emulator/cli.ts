// Runs one emulator as its own process for benchmarks:
//   node test/support/dropbox-emulator/cli.ts --port 0 --latency-ms 40 --write-contention 1:1
// Every flag can also come from the environment: --latency-ms <-> DROPBOX_EMULATOR_LATENCY_MS.
// Prints one JSON line {"url","appKey","appSecret","refreshToken","accountId","pid","faults"} on stdout once
// listening, then serves until SIGTERM or SIGINT. Counters and faults stay reachable over HTTP
// under /__emulator/ (GET counters, POST configure, POST reset), as do the outside changes and
// webhook controls (see control-routes.ts). --webhook-url sends change notifications there,
// signed with --webhook-secret (default: the app secret).
import { parseArgs } from 'node:util'
import { startDropboxEmulator } from './index.ts'
import type { EmulatorOptions, Faults } from './types.ts'

const FLAGS = [
  'port', 'host', 'app-key', 'app-secret', 'refresh-token', 'latency-ms', 'token-ttl-seconds', 'rate-limit',
  'write-contention', 'max-upload-bytes', 'faults', 'account-id', 'webhook-url', 'webhook-secret'
] as const

type Flag = typeof FLAGS[number]

function readFlags (): Partial<Record<Flag, string>> {
  const { values } = parseArgs({
    options: Object.fromEntries(FLAGS.map((flag) => [flag, { type: 'string' as const }])),
    strict: true
  })
  const flags: Partial<Record<Flag, string>> = {}
  for (const flag of FLAGS) {
    const value = values[flag] ?? process.env[`DROPBOX_EMULATOR_${flag.toUpperCase().replaceAll('-', '_')}`]
    if (typeof value === 'string' && value !== '') flags[flag] = value
  }
  return flags
}

function integer (flag: string, value: string): number {
  const number = Number(value)
  if (!Number.isInteger(number) || number < 0) throw new Error(`--${flag} must be a non-negative integer, got ${value}`)
  return number
}

// "<n>[:<retryAfterSeconds>]"
function pair (flag: string, value: string): [number, number] {
  const [first = '', second = '1'] = value.split(':')
  return [Number(first), integer(flag, second)]
}

function toOptions (flags: Partial<Record<Flag, string>>): Partial<EmulatorOptions> {
  const faults: Partial<Faults> = flags.faults ? JSON.parse(flags.faults) as Partial<Faults> : {}
  if (flags['latency-ms']) faults.latencyMs = integer('latency-ms', flags['latency-ms'])
  if (flags['token-ttl-seconds']) faults.tokenTtlSeconds = integer('token-ttl-seconds', flags['token-ttl-seconds'])
  if (flags['max-upload-bytes']) faults.maxUploadBytesPerCall = integer('max-upload-bytes', flags['max-upload-bytes'])
  if (flags['rate-limit']) {
    const [requestsPerSecond, retryAfterSeconds] = pair('rate-limit', flags['rate-limit'])
    faults.rateLimit = { requestsPerSecond, retryAfterSeconds }
  }
  if (flags['write-contention']) {
    const [maxConcurrentCommits, retryAfterSeconds] = pair('write-contention', flags['write-contention'])
    faults.writeContention = { maxConcurrentCommits, retryAfterSeconds }
  }
  return {
    port: flags.port ? integer('port', flags.port) : 0,
    host: flags.host,
    appKey: flags['app-key'],
    appSecret: flags['app-secret'],
    refreshToken: flags['refresh-token'],
    accountId: flags['account-id'],
    faults,
    webhook: {
      ...(flags['webhook-url'] ? { url: flags['webhook-url'] } : {}),
      ...(flags['webhook-secret'] ? { appSecret: flags['webhook-secret'] } : {})
    }
  }
}

const emulator = await startDropboxEmulator(toOptions(readFlags()))
process.stdout.write(`${JSON.stringify({
  url: emulator.url,
  appKey: emulator.appKey,
  appSecret: emulator.appSecret,
  refreshToken: emulator.refreshToken,
  accountId: emulator.accountId,
  pid: process.pid,
  faults: emulator.faults()
})}\n`)

let stopping = false
async function stop (): Promise<void> {
  if (stopping) return
  stopping = true
  await emulator.close()
  process.exit(0)
}
process.on('SIGTERM', () => { stop().catch(() => process.exit(1)) })
process.on('SIGINT', () => { stop().catch(() => process.exit(1)) })
