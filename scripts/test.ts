// `npm test`: type check, lint, then the whole tap suite against a real Redis, a real
// MongoDB-protocol server (FerretDB on PostgreSQL, or on SQLite with EMBEDDED_DB=sqlite) and a
// real S3 server (versitygw), started here unless REDIS_URL / MONGODB_URL / S3_ENDPOINT are given.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, startFerretDB, startRedis, startS3, type Service } from './lib/services.ts'

function step (title: string, command: string, args: string[], env = process.env): Promise<number> {
  console.error(`\n\x1b[1m== ${title}\x1b[0m`)
  return new Promise(resolve => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: 'inherit' })
    child.once('exit', code => resolve(code ?? 1))
  })
}

const tapArgs = process.argv.slice(2)
const services: Service[] = []
const dataDir = await mkdtemp(join(tmpdir(), 'image-upload-test-'))
// The databases run in process groups of their own, which a Ctrl-C does not reach: on a signal
// they are stopped and their data removed here, or they would outlive the run.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    void Promise.all(services.map(s => s.stop()))
      .finally(() => rm(dataDir, { recursive: true, force: true }))
      .finally(() => process.exit(130))
  })
}
let code = 0
try {
  if (tapArgs.length === 0) {
    code ||= await step('type check', 'npx', ['tsc', '--noEmit'])
    code ||= await step('lint', 'npx', ['eslint', '.'])
  }
  if (code === 0) {
    const env = { ...process.env }
    if (!env.REDIS_URL) {
      const redis = await startRedis()
      services.push(redis)
      env.REDIS_URL = redis.url
    }
    let database = ''
    if (!env.MONGODB_URL) {
      const started = performance.now()
      // Throw-away data: PostgreSQL without fsync and synchronous commits.
      const ferret = await startFerretDB(dataDir, 'test', { durable: false })
      services.push(ferret)
      env.MONGODB_URL = ferret.url
      database = ` (FerretDB on ${ferret.postgres ? 'PostgreSQL' : 'SQLite'}, started in ${Math.round(performance.now() - started)} ms)`
    }
    // For the tests of STAGING=s3 (they name their own buckets); no other test reads these.
    if (!env.S3_ENDPOINT) {
      const s3 = await startS3(dataDir)
      services.push(s3)
      Object.assign(env, s3.env)
    }
    console.error(`\nservices: REDIS_URL=${env.REDIS_URL} MONGODB_URL=${env.MONGODB_URL}${database} S3_ENDPOINT=${env.S3_ENDPOINT}`)
    code = await step('tap', 'npx', ['tap', ...tapArgs], env)
  }
} finally {
  await Promise.all(services.map(s => s.stop()))
  await rm(dataDir, { recursive: true, force: true })
}
if (process.env.SKIP_BROWSER_TESTS === '1') {
  // Said last, where nobody can miss it: a green run without them proves less.
  console.error('\n\x1b[41;97m !!! THE ADMIN BROWSER TESTS DID NOT RUN (SKIP_BROWSER_TESTS=1) !!! \x1b[0m\n')
}
process.exit(code)
