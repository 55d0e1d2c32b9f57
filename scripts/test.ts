// `npm test`: type check, lint, then the whole tap suite against a real Redis and a real
// MongoDB-protocol server (FerretDB), started here unless REDIS_URL / MONGODB_URL are given.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, startFerretDB, startRedis, type Service } from './lib/services.ts'

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
    if (!env.MONGODB_URL) {
      const ferret = await startFerretDB(dataDir, 'test')
      services.push(ferret)
      env.MONGODB_URL = ferret.url
    }
    console.error(`\nservices: REDIS_URL=${env.REDIS_URL} MONGODB_URL=${env.MONGODB_URL}`)
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
