// Survival under failures, counted: real API and worker processes, ~20 concurrent clients with an
// Idempotency-Key each, one failure per scenario (API kill -9, Redis restarted without its data,
// Dropbox answering 5xx, FerretDB stopped and restarted). Once the system settles, each scenario
// counts records (the test database's images), stored files and staged files: nothing accepted is
// lost, nothing is stored twice, nothing stays staged, and /health answers 200 again by itself.
// Seconds-scale settings; every wait is on a state (scripts/lib/wait-for.ts), except the length
// of the Dropbox outage, which is the fault itself.
import { randomUUID } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Queue } from 'bullmq'
import { createConnection } from 'mongoose'
import t, { type Test } from 'tap'
import { freePort, startFerretDB, startRedis } from '../../scripts/lib/services.ts'
import { waitFor } from '../../scripts/lib/wait-for.ts'
import { UPLOAD_QUEUE } from '../../src/queue/upload-jobs.ts'
import { testEnv } from '../helpers/config.ts'
import { dropboxEmulator } from '../helpers/dropbox.ts'
import { randomPng } from '../helpers/images.ts'
import { uploadForm } from '../helpers/multipart.ts'
import { spawnProcess, waitForHealth } from '../helpers/processes.ts'

const CLIENTS = 20
const SETTLE_MS = 90_000

/** Seconds-scale recovery, no rate limits (every client comes from one address). */
const FAST = {
  HOST: '127.0.0.1',
  WORKER_LOCK_MS: '1000',
  WORKER_STALLED_CHECK_MS: '1000',
  RATE_LIMIT_UPLOADS_PER_MINUTE: '0',
  RATE_LIMIT_LOOKUPS_PER_MINUTE: '0',
  // Only the upload pipeline is counted here; variants have tests of their own.
  VARIANTS_ENABLED: 'false'
}

interface Client { filename: string, content: Buffer, key: string }
interface Attempt { status: number, ids: string[], body: string }

function clients (): Client[] {
  return Array.from({ length: CLIENTS }, (_, i) => ({ filename: `c${i}.png`, content: randomPng(3000), key: randomUUID() }))
}

/** One POST /api/upload/ with the client's Idempotency-Key; a dropped connection is status 0. */
async function post (base: string, phone: string, client: Client): Promise<Attempt> {
  const { payload, headers } = uploadForm(phone, [{ filename: client.filename, content: client.content }])
  try {
    const res = await fetch(`${base}/api/upload/`, { method: 'POST', body: new Uint8Array(payload), headers: { ...headers, 'idempotency-key': client.key } })
    const body = await res.text()
    let ids: string[] = []
    try {
      const results = (JSON.parse(body) as { results?: Array<{ upload_id?: string }> }).results ?? []
      ids = results.map(r => r.upload_id).filter((id): id is string => typeof id === 'string')
    } catch {}
    return { status: res.status, ids, body }
  } catch (err) {
    return { status: 0, ids: [], body: String(err) }
  }
}

/** What a well-behaved app does: the same request with the same key until it gets a 200. */
async function retryUntil200 (base: string, phone: string, client: Client, attempts: Attempt[]): Promise<Attempt> {
  return await waitFor(async () => {
    const attempt = await post(base, phone, client)
    attempts.push(attempt)
    return attempt.status === 200 ? attempt : undefined
  }, { what: `a 200 for ${client.filename}`, timeoutMs: SETTLE_MS, intervalMs: 250 })
}

const accepted = (a: Attempt): boolean => (a.status === 200 || a.status === 202) && a.ids.length === 1

function testQueue (t: Test, env: Record<string, string>): Queue {
  const queue = new Queue(UPLOAD_QUEUE, { connection: { url: env.REDIS_URL }, prefix: env.QUEUE_PREFIX })
  queue.on('error', () => {})
  t.teardown(() => queue.close())
  return queue
}

async function filesUnder (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])
  return entries.filter(e => e.isFile()).map(e => relative(dir, join(e.parentPath, e.name)))
}

/** The client a stored name or record belongs to: `<timestamp>_c7.png`, or `... c7 (1).png` for a second copy. */
function clientOf (name: string): string | undefined {
  return /_(c\d+)(?: \(\d+\))?\.png$/.exec(name)?.[1]
}

interface Census { records: Array<{ id: string, client?: string }>, stored: string[], staged: string[] }

function perClient (names: Array<string | undefined>): Map<string, number> {
  const counts = new Map<string, number>()
  for (const name of names) counts.set(name ?? '?', (counts.get(name ?? '?') ?? 0) + 1)
  return counts
}

/**
 * Waits until every accepted upload id has its record, every record its stored file and nothing
 * is staged; then asserts the counts. `extrasAllowed`: records beyond the accepted ids are counted
 * and reported instead of failing (Redis lost the idempotency keys, scenario 2).
 */
async function settleAndCount (t: Test, o: {
  env: Record<string, string>
  stagingDir: string
  stored: () => Promise<string[]>
  accepted: Map<string, string> // client filename -> upload id
  base: string
  extrasAllowed?: Set<string> // clients whose retry may legitimately have made a second upload
}): Promise<Census> {
  const db = await createConnection(o.env.MONGODB_URL!).asPromise()
  t.teardown(() => db.close())
  const census = async (): Promise<Census> => {
    const docs = await db.collection('images').find({}, { projection: { _id: 1, file_name: 1 } }).toArray()
    return {
      records: docs.map(d => ({ id: String(d._id), client: clientOf(String(d.file_name)) })),
      stored: (await o.stored()).map(n => n.split('/').pop()!),
      staged: await filesUnder(o.stagingDir)
    }
  }
  const ids = [...o.accepted.values()]
  let last: Census | undefined
  try {
    await waitFor(async () => {
      last = await census()
      const recorded = new Set(last.records.map(r => r.id))
      return ids.every(id => recorded.has(id)) && last.stored.length === last.records.length && last.staged.length === 0
    }, { what: 'every accepted upload recorded and stored, nothing staged', timeoutMs: SETTLE_MS, intervalMs: 200 })
  } catch (err) {
    t.comment(`last census: ${JSON.stringify({ records: last?.records.length, stored: last?.stored.length, staged: last?.staged })}`)
    throw err
  }
  const c = await census()
  const recorded = new Set(c.records.map(r => r.id))
  const lost = ids.filter(id => !recorded.has(id))
  const storedPer = perClient(c.stored.map(clientOf))
  const recordsPer = perClient(c.records.map(r => r.client))
  const dupes = (m: Map<string, number>): string[] => [...m].filter(([k, n]) => n > 1 && !o.extrasAllowed?.has(`${k}.png`)).map(([k, n]) => `${k}x${n}`)
  t.same(lost, [], `lost = 0 (${ids.length} accepted upload ids, ${c.records.length} records, ${c.stored.length} stored files)`)
  t.same(dupes(storedPer), [], 'duplicates = 0 among stored files')
  t.same(dupes(recordsPer), [], 'duplicates = 0 among records')
  t.equal(c.stored.length, c.records.length, 'one stored file per record')
  t.same(c.staged, [], 'nothing staged')
  const extras = c.records.length - ids.length
  if (o.extrasAllowed) {
    t.ok(extras >= 0 && extras <= o.extrasAllowed.size, `extra uploads (${extras}) only from clients whose first request was not accepted (${o.extrasAllowed.size})`)
  } else {
    t.equal(extras, 0, 'no record beyond the accepted uploads')
  }
  await waitForHealth(o.base)
  t.pass('/health answers 200 by itself')
  return c
}

t.test('1. kill -9 of the API while 20 clients wait on queued jobs: retries with their keys store each upload once', async t => {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const { env, stagingDir, dataDir } = await testEnv(t, { ...FAST, PORT: String(port), UPLOAD_WAIT_MS: '30000' })
  const api = spawnProcess(t, 'src/server.ts', env)
  const queue = testQueue(t, env)
  await waitForHealth(base)

  const phone = '9001'
  const all = clients()
  const attempts = all.map(() => [] as Attempt[])
  // No worker yet: every request is accepted, queued, and its client waits.
  const first = all.map(async (c, i) => { const a = await post(base, phone, c); attempts[i]!.push(a); return a })
  await waitFor(async () => await queue.getWaitingCount() === CLIENTS, { what: `${CLIENTS} queued jobs`, intervalMs: 20 })

  api.process.kill('SIGKILL')
  t.equal(await api.exited, 'SIGKILL')
  const firstAnswers = await Promise.all(first)
  t.comment(`first attempts: ${JSON.stringify(Object.fromEntries(perClient(firstAnswers.map(a => String(a.status)))))} (0 = connection dropped)`)

  spawnProcess(t, 'src/server.ts', { ...env, UPLOAD_WAIT_MS: '5000' })
  spawnProcess(t, 'workers/upload-worker.ts', env)
  await waitForHealth(base)
  const finals = await Promise.all(all.map((c, i) => retryUntil200(base, phone, c, attempts[i]!)))

  const ids = new Map<string, string>()
  for (const [i, c] of all.entries()) {
    const final = finals[i]!
    t.equal(final.ids.length, 1, `${c.filename}: one upload id`)
    const given = [...new Set(attempts[i]!.flatMap(a => a.ids))]
    t.same(given, final.ids, `${c.filename}: every answer with an id named the same upload (${attempts[i]!.length} attempts)`)
    ids.set(c.filename, final.ids[0]!)
  }
  t.equal(new Set(ids.values()).size, CLIENTS, 'twenty distinct upload ids')
  const c = await settleAndCount(t, { env, stagingDir, stored: () => filesUnder(dataDir), accepted: ids, base })
  t.equal(c.records.length, CLIENTS, 'records = 20')
  t.equal(await queue.getWaitingCount(), 0, 'nothing left queued')
})

t.test('2. Redis restarted without its data while 20 jobs are queued: accepted uploads are stored once', async t => {
  const redis = await startRedis() // --save '' --appendonly no: a restart loses everything
  let current = redis
  // Registered first, so it runs last: the processes close while Redis is still up.
  t.teardown(() => current.stop())
  const redisPort = Number(new URL(redis.url).port)
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const { env, stagingDir, dataDir } = await testEnv(t, { ...FAST, REDIS_URL: redis.url, PORT: String(port), UPLOAD_WAIT_MS: '20000' })
  spawnProcess(t, 'src/server.ts', env)
  await waitForHealth(base)

  const phone = '9002'
  const all = clients()
  const attempts = all.map(() => [] as Attempt[])
  const first = all.map(async (c, i) => { const a = await post(base, phone, c); attempts[i]!.push(a); return a })
  // No worker yet, so all 20 jobs are queued (not half done) when Redis goes.
  const queue = new Queue(UPLOAD_QUEUE, { connection: { url: env.REDIS_URL }, prefix: env.QUEUE_PREFIX })
  queue.on('error', () => {})
  await waitFor(async () => await queue.getWaitingCount() === CLIENTS, { what: `${CLIENTS} queued jobs`, intervalMs: 20 })
  await queue.close()

  await redis.stop()
  current = await startRedis({ port: redisPort })
  spawnProcess(t, 'workers/upload-worker.ts', env)
  const firstAnswers = await Promise.all(first)
  t.comment(`answers to the waiting clients after the Redis restart: ${JSON.stringify(Object.fromEntries(perClient(firstAnswers.map(a => String(a.status)))))}`)

  // Accepted (200/202 with an id): followed by its id, never re-sent. Anything else: retried with
  // the key; the key died with Redis's data, so if the first request had been staged the retry
  // is a second upload, and the first is re-queued from its manifest too: counted, not failed.
  const ids = new Map<string, string>()
  const notAccepted = new Set<string>()
  await Promise.all(all.map(async (c, i) => {
    if (accepted(firstAnswers[i]!)) {
      ids.set(c.filename, firstAnswers[i]!.ids[0]!)
      return
    }
    notAccepted.add(c.filename)
    const final = await retryUntil200(base, phone, c, attempts[i]!)
    ids.set(c.filename, final.ids[0]!)
  }))
  const count = await settleAndCount(t, { env, stagingDir, stored: () => filesUnder(dataDir), accepted: ids, base, extrasAllowed: notAccepted })
  t.comment(`Redis data loss: ${CLIENTS - notAccepted.size} clients accepted at once, ${notAccepted.size} retried; ${count.records.length} records, ${count.records.length - ids.size} beyond the accepted uploads (a retry after the keys were lost)`)
})

t.test('3. Dropbox answering 5xx for 3 s under 20 uploads: every client gets its 200, each file stored once', async t => {
  const { emulator, env: dropboxEnv } = await dropboxEmulator(t)
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const { env, stagingDir } = await testEnv(t, { ...FAST, ...dropboxEnv, PORT: String(port), UPLOAD_WAIT_MS: '60000' })
  spawnProcess(t, 'src/server.ts', env)
  spawnProcess(t, 'workers/upload-worker.ts', env)
  const queue = testQueue(t, env)
  await waitForHealth(base)
  await waitFor(async () => await queue.getWorkersCount() === 1, { what: 'the worker to be ready' })

  const phone = '9003'
  const all = clients()
  emulator.configure({ serverErrors: { remaining: 1_000_000, status: 503 } })
  const answers = Promise.all(all.map(c => post(base, phone, c)))
  await waitFor(() => emulator.counters.serverErrors > 0, { what: 'Dropbox to refuse a first call', intervalMs: 10 })
  // The outage itself (the 20 s, scaled to 3 s): its length is the fault, not a wait.
  await sleep(3000)
  emulator.configure({ serverErrors: null })
  const refused = emulator.counters.serverErrors

  const finals = await answers
  const ids = new Map<string, string>()
  for (const [i, c] of all.entries()) {
    t.equal(finals[i]!.status, 200, finals[i]!.status === 200 ? c.filename : `${c.filename}: ${finals[i]!.body}`)
    if (accepted(finals[i]!)) ids.set(c.filename, finals[i]!.ids[0]!)
  }
  const stored = async (): Promise<string[]> => emulator.files().filter(f => f.path_lower.startsWith(`/${phone}/`)).map(f => f.name)
  await settleAndCount(t, { env, stagingDir, stored, accepted: ids, base })
  t.comment(`Dropbox refused ${refused} calls with 503 in the 3 s outage`)
})

t.test('4. FerretDB stopped and restarted while 20 uploads are processed: each stored once', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'survival-ferret-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const ferret = await startFerretDB(dir, 'survival', { durable: false })
  let current = ferret
  t.teardown(() => current.stop())
  const ferretPort = Number(new URL(ferret.url).port)
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const { env, stagingDir, dataDir } = await testEnv(t, { ...FAST, MONGODB_URL: ferret.url, PORT: String(port), UPLOAD_WAIT_MS: '3000' })
  spawnProcess(t, 'src/server.ts', env)
  spawnProcess(t, 'workers/upload-worker.ts', env)
  const queue = testQueue(t, env)
  await waitForHealth(base)
  await waitFor(async () => await queue.getWorkersCount() === 1, { what: 'the worker to be ready' })

  // Down before the load, so the whole batch meets it (a kill mid-batch could miss a fast batch).
  await ferret.stop()
  const phone = '9004'
  const all = clients()
  const attempts = all.map(() => [] as Attempt[])
  const firstAnswers = await Promise.all(all.map(async (c, i) => { const a = await post(base, phone, c); attempts[i]!.push(a); return a }))
  t.comment(`answers while FerretDB is down: ${JSON.stringify(Object.fromEntries(perClient(firstAnswers.map(a => String(a.status)))))}`)
  await waitFor(async () => await queue.getDelayedCount() + await queue.getActiveCount() + await queue.getWaitingCount() > 0, { what: 'jobs held back by the outage' })

  current = await startFerretDB(dir, 'survival', { port: ferretPort, durable: false })
  const ids = new Map<string, string>()
  await Promise.all(all.map(async (c, i) => {
    const final = accepted(firstAnswers[i]!) ? firstAnswers[i]! : await retryUntil200(base, phone, c, attempts[i]!)
    ids.set(c.filename, final.ids[0]!)
    const given = [...new Set(attempts[i]!.flatMap(a => a.ids))]
    t.ok(given.length <= 1, `${c.filename}: one upload id across ${attempts[i]!.length} attempts`)
  }))
  const count = await settleAndCount(t, { env, stagingDir, stored: () => filesUnder(dataDir), accepted: ids, base })
  t.equal(count.records.length, CLIENTS, 'records = 20')
})
