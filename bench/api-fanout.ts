// Issue 13 §2: what each API process pays for learning its jobs' outcomes, with 1, 2, 4... API
// processes on one Redis and one upload worker (local storage, 100 KB PNGs, the load spread evenly
// over the APIs). Reports the APIs' CPU per upload (all of them together), Redis commands per
// upload (XREAD and PUBLISH apart: a QueueEvents reader in every API reads the whole queue's event
// stream, a results channel per API gets its own outcomes only) and the event stream's length.
//   node bench/api-fanout.ts [--apis 1,2,4] [--uploads 3000] [--connections 20]
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { freePort, SERVICE_NODE_FLAGS } from '../scripts/lib/services.ts'
import { runLoad } from './lib/load.ts'
import { benchImages } from './lib/photos.ts'
import { CpuMeter, spawnNode, stopAll, waitFor, type Child } from './lib/processes.ts'
import { heading, note, table, writeResult } from './lib/report.ts'
import { round } from './lib/stats.ts'
import { LOG_DIR, startInfra, startService, type Infra } from './lib/stack.ts'

async function commandCalls (redis: Redis): Promise<Map<string, number>> {
  const calls = new Map<string, number>()
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim())
    if (match) calls.set(match[1]!, Number(match[2]))
  }
  return calls
}

interface FanoutResult { apis: number, uploads: number, ok: number, rps: number, apiCpuMsPerUpload: number, redisPerUpload: number, xreadPerUpload: number, publishPerUpload: number, eventsStreamLength: number }

async function run (infra: Infra, apis: number, uploads: number, connections: number, image: Buffer): Promise<FanoutResult> {
  const service = await startService({ name: `fanout-${apis}`, infra, env: { LOG_LEVEL: 'warn', WORKER_CONCURRENCY: '20', UPLOAD_WAIT_MS: '300000', STORAGE: 'local' } })
  const children: Child[] = [service.api]
  const urls = [service.url]
  try {
    for (let i = 2; i <= apis; i++) {
      const port = await freePort()
      children.push(spawnNode(`fanout-${apis} api ${i}`, 'src/server.ts', { env: { ...service.env, PORT: String(port), PUBLIC_BASE_URL: `http://127.0.0.1:${port}` }, nodeArgs: SERVICE_NODE_FLAGS, logFile: join(LOG_DIR, `fanout-${apis}-api-${i}.log`) }))
      urls.push(`http://127.0.0.1:${port}`)
    }
    for (const url of urls) await waitFor(`${url} health`, async () => (await fetch(`${url}/health`).catch(() => undefined))?.ok === true, { children })
    const perApi = Math.max(1, Math.round(connections / apis))
    const phones = (key: string): string[] => Array.from({ length: 20 }, (_, i) => `7${key}000${String(i).padStart(3, '0')}`)
    note(`${apis} API(s): warming up`)
    await Promise.all(urls.map((url, i) => runLoad({ url, connections: perApi, seconds: 3, image, phones: phones(`9${i}`), namePrefix: 'warm' })))
    await service.waitIdle()
    const redis = new Redis(infra.redisUrl)
    try {
      const before = await commandCalls(redis)
      const cpu = await CpuMeter.start(Object.fromEntries(children.map((c, i) => [`api${i + 1}`, c.pid])))
      note(`${apis} API(s): ${uploads} uploads`)
      const started = performance.now()
      const loads = await Promise.all(urls.map((url, i) => runLoad({ url, connections: perApi, amount: Math.round(uploads / apis), image, phones: phones(`1${i}`), namePrefix: 'run' })))
      const seconds = (performance.now() - started) / 1000
      const requests = loads.reduce((n, l) => n + l.requests, 0)
      const { cpuMsPerRequest } = await cpu.stop(requests)
      await service.waitIdle()
      const after = await commandCalls(redis)
      const per = (command: string): number => ((after.get(command) ?? 0) - (before.get(command) ?? 0)) / requests
      return {
        apis,
        uploads: requests,
        ok: loads.reduce((n, l) => n + (l.statusCodes['200'] ?? 0), 0),
        rps: round(requests / seconds),
        apiCpuMsPerUpload: round(Object.entries(cpuMsPerRequest).filter(([k]) => k.startsWith('api')).reduce((n, [, ms]) => n + ms, 0), 2),
        redisPerUpload: round([...after.keys()].reduce((n, c) => n + per(c), 0), 2),
        xreadPerUpload: round(per('xread'), 2),
        publishPerUpload: round(per('publish'), 2),
        eventsStreamLength: await redis.xlen(`${service.env.QUEUE_PREFIX}:uploads:events`)
      }
    } finally {
      redis.disconnect()
    }
  } finally {
    await Promise.all(children.slice(1).map(c => c.stop()))
    await service.stop()
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { apis: { type: 'string', default: '1,2,4' }, uploads: { type: 'string', default: '3000' }, connections: { type: 'string', default: '20' } } })
  const { plain: image } = await benchImages('png', 100 * 1024)
  const infra = await startInfra()
  const results: FanoutResult[] = []
  try {
    for (const apis of values.apis.split(',').map(Number)) results.push(await run(infra, apis, Number(values.uploads), Number(values.connections), image))
  } finally {
    await stopAll()
    await infra.stop()
  }
  heading('API processes against one worker: cost of the outcomes')
  console.log(table(['APIs', 'uploads', '200', 'req/s', 'API CPU ms/upload (all)', 'Redis cmds/upload', 'XREAD/upload', 'PUBLISH/upload', 'event stream length'],
    results.map(r => [r.apis, r.uploads, r.ok, r.rps, r.apiCpuMsPerUpload, r.redisPerUpload, r.xreadPerUpload, r.publishPerUpload, r.eventsStreamLength])))
  console.log(`\nresult file: ${await writeResult('api-fanout', { results })}`)
}
