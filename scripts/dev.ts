// `npm run dev`: the whole service on one machine with embedded defaults. Starts Redis and
// FerretDB under .data/dev unless REDIS_URL / MONGODB_URL are set, then the API and one upload
// worker. Ctrl-C stops everything, workers finishing their active jobs first.
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { ROOT, SERVICE_NODE_FLAGS, startFerretDB, startRedis, type Service } from './lib/services.ts'

const dataDir = join(ROOT, '.data/dev')
const services: Service[] = []
const children: ChildProcess[] = []
let stopping = false

function log (message: string): void {
  console.error(`\x1b[1m[dev]\x1b[0m ${message}`)
}

async function stopAll (code: number): Promise<never> {
  if (!stopping) {
    stopping = true
    log('stopping...')
    await Promise.all(children.map(child => new Promise(resolve => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined)
      child.once('exit', resolve)
      child.kill('SIGTERM')
    })))
    await Promise.all(services.map(s => s.stop()))
    log('stopped')
  }
  process.exit(code)
}

function run (name: string, script: string, env: NodeJS.ProcessEnv): void {
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, script], { cwd: ROOT, env, stdio: 'inherit' })
  child.once('exit', (code, signal) => {
    if (stopping) return
    log(`${name} exited (${signal ?? code}); stopping everything`)
    void stopAll(1)
  })
  children.push(child)
}

process.once('SIGINT', () => { void stopAll(0) })
process.once('SIGTERM', () => { void stopAll(0) })

const env: NodeJS.ProcessEnv = { ...process.env }
if (!env.REDIS_URL) {
  const redis = await startRedis({ dataDir })
  services.push(redis)
  env.REDIS_URL = redis.url
  log(`Redis at ${redis.url} (data in .data/dev/redis)`)
}
if (!env.MONGODB_URL) {
  const ferret = await startFerretDB(dataDir, 'image_upload')
  services.push(ferret)
  env.MONGODB_URL = ferret.url
  log(`FerretDB at ${ferret.url} (data in .data/dev/ferretdb)`)
}
run('API', 'src/server.ts', env)
run('worker', 'workers/upload-worker.ts', env)
log('API and worker starting; Ctrl-C stops all')
