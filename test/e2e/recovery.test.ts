// Issue 9 §2, "Recovery in seconds, not minutes": a killed worker's jobs are taken over, a stopping
// API does not wait for idle clients, and a client that stops mid-body leaves nothing behind.
// Real processes, seconds-scale settings; every wait is on a state (scripts/lib/wait-for.ts).
import http from 'node:http'
import { connect, type Socket } from 'node:net'
import { readdir } from 'node:fs/promises'
import { Queue, QueueEvents } from 'bullmq'
import { createConnection } from 'mongoose'
import t, { type Test } from 'tap'
import { freePort } from '../../scripts/lib/services.ts'
import { waitFor } from '../../scripts/lib/wait-for.ts'
import { UPLOAD_QUEUE } from '../../src/queue/upload-jobs.ts'
import { testEnv } from '../helpers/config.ts'
import { dropboxEmulator } from '../helpers/dropbox.ts'
import { randomPng } from '../helpers/images.ts'
import { uploadForm } from '../helpers/multipart.ts'
import { spawnProcess, waitForHealth } from '../helpers/processes.ts'

function testQueue (t: Test, env: Record<string, string>): Queue {
  const queue = new Queue(UPLOAD_QUEUE, { connection: { url: env.REDIS_URL }, prefix: env.QUEUE_PREFIX })
  t.teardown(() => queue.close())
  return queue
}

/** The files in the staging directory (sub-directories, such as resumable uploads', aside). */
async function stagedFiles (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
  return entries.filter(e => e.isFile()).map(e => e.name)
}

async function jobTotal (queue: Queue): Promise<number> {
  return Object.values(await queue.getJobCounts()).reduce((a, b) => a + b, 0)
}

t.test('kill -9 of a worker with 10 active jobs: another worker takes them over, each file stored once', async t => {
  const { emulator, env: dropboxEnv } = await dropboxEmulator(t)
  const port = await freePort()
  const { env, stagingDir } = await testEnv(t, {
    ...dropboxEnv,
    PORT: String(port),
    HOST: '127.0.0.1',
    WORKER_LOCK_MS: '1000',
    WORKER_STALLED_CHECK_MS: '1000',
    WORKER_CONCURRENCY: '16',
    UPLOAD_WAIT_MS: '60000'
  })
  const base = `http://127.0.0.1:${port}`
  spawnProcess(t, 'src/server.ts', env)
  const doomed = spawnProcess(t, 'workers/upload-worker.ts', env)
  const queue = testQueue(t, env)
  await waitForHealth(base)
  await waitFor(async () => await queue.getWorkersCount() === 1, { what: 'the first worker to be ready' })

  // Dropbox answers slowly, so the first worker is still busy with every job when it dies.
  emulator.configure({ latencyMs: 3000 })
  const files = Array.from({ length: 10 }, () => randomPng(3000))
  const clients = files.map(async (content, i) => {
    const { payload, headers } = uploadForm('700', [{ filename: `photo${i}.png`, content }])
    const res = await fetch(`${base}/api/upload/`, { method: 'POST', body: new Uint8Array(payload), headers })
    return { status: res.status, body: await res.text(), at: Date.now() }
  })
  await waitFor(async () => await queue.getActiveCount() === 10, { what: '10 active jobs', intervalMs: 10 })
  spawnProcess(t, 'workers/upload-worker.ts', env)
  await waitFor(async () => await queue.getWorkersCount() === 2, { what: 'the second worker to be ready' })
  const events = new QueueEvents(UPLOAD_QUEUE, { connection: { url: env.REDIS_URL }, prefix: env.QUEUE_PREFIX })
  t.teardown(() => events.close())
  await events.waitUntilReady()
  const stalledAt: number[] = []
  events.on('stalled', () => stalledAt.push(Date.now()))
  t.equal(await queue.getActiveCount(), 10, 'all 10 jobs still active at the kill')

  doomed.process.kill('SIGKILL')
  const killedAt = Date.now()
  t.equal(await doomed.exited, 'SIGKILL')
  emulator.configure({ latencyMs: 0 })

  const answers = await Promise.all(clients)
  const lastAnswer = Math.max(...answers.map(a => a.at)) - killedAt
  for (const [i, answer] of answers.entries()) t.equal(answer.status, 200, answer.status === 200 ? `client ${i}` : `client ${i}: ${answer.body}`)
  t.ok(lastAnswer < 30_000, `every client answered within 30 s of the kill (${lastAnswer} ms)`)
  t.equal(stalledAt.length, 10, 'each job was found stalled once')
  t.comment(`kill -9 with WORKER_LOCK_MS=1000 WORKER_STALLED_CHECK_MS=1000: jobs taken over ${Math.min(...stalledAt) - killedAt}-${Math.max(...stalledAt) - killedAt} ms after the kill, last client answered after ${lastAnswer} ms`)

  const stored = emulator.files().filter(f => f.path_lower.startsWith('/700/'))
  t.equal(stored.length, 10, 'ten files in Dropbox, no duplicates')
  t.notOk(stored.some(f => / \(\d+\)\./.test(f.name)), 'no renamed second copy')
  const db = await createConnection(env.MONGODB_URL!).asPromise()
  t.teardown(() => db.close())
  t.equal(await db.collection('images').countDocuments({ phone_number: '700' }), 10, 'records == uploads')
  t.same(await stagedFiles(stagingDir), [], 'no staged file left')
})

t.test('a client that stops mid-body is cut off after UPLOAD_IDLE_TIMEOUT_MS, leaving nothing staged or queued', async t => {
  const port = await freePort()
  const { env, stagingDir } = await testEnv(t, { PORT: String(port), HOST: '127.0.0.1', UPLOAD_IDLE_TIMEOUT_MS: '1000', UPLOAD_WAIT_MS: '3000' })
  const base = `http://127.0.0.1:${port}`
  spawnProcess(t, 'src/server.ts', env)
  const queue = testQueue(t, env)
  await waitForHealth(base)

  // Headers and half the body, then silence.
  const { payload, headers } = uploadForm('701', [{ filename: 'stalled.png', content: randomPng(200_000) }])
  const socket: Socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  const closed = new Promise<number>(resolve => socket.once('close', () => resolve(Date.now())))
  socket.write(`POST /api/upload/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${headers['content-type']}\r\nContent-Length: ${payload.length}\r\n\r\n`)
  socket.write(payload.subarray(0, payload.length / 2))
  const sentAt = Date.now()
  const partial = await waitFor(async () => (await stagedFiles(stagingDir)).find(n => n.endsWith('.partial')), { what: 'the file to be staged under a partial name', intervalMs: 10 })
  t.ok(partial, `staged as ${partial} while it arrives`)

  const silence = await closed - sentAt
  t.ok(silence >= 950 && silence < 5000, `cut off after ${silence} ms of silence`)
  await waitFor(async () => (await stagedFiles(stagingDir)).length === 0, { what: 'the partial file to be removed', timeoutMs: 5000 })
  t.equal(await jobTotal(queue), 0, 'nothing queued')

  // A client that has sent everything and waits for its files (no worker runs) is not idle:
  // it waits out UPLOAD_WAIT_MS, three times the idle timeout, and gets its 202.
  const started = Date.now()
  const waiting = uploadForm('701', [{ filename: 'whole.png', content: randomPng() }])
  const res = await fetch(`${base}/api/upload/`, { method: 'POST', body: new Uint8Array(waiting.payload), headers: waiting.headers })
  t.equal(res.status, 202, 'a long wait for the worker is not cut')
  t.ok(Date.now() - started >= 3000, 'answered after the full wait')
  t.equal(await jobTotal(queue), 1)
})

t.test('SIGTERM to an API with idle keep-alive and unused connections exits 0 within 5 s', async t => {
  const port = await freePort()
  const { env } = await testEnv(t, { PORT: String(port), HOST: '127.0.0.1' })
  const api = spawnProcess(t, 'src/server.ts', env)
  await waitForHealth(`http://127.0.0.1:${port}`)

  // One request done on a keep-alive connection, which stays open and idle.
  const agent = new http.Agent({ keepAlive: true })
  t.teardown(() => agent.destroy())
  const status = await new Promise<number>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/health', agent }, res => { res.resume(); res.on('end', () => resolve(res.statusCode!)) }).on('error', reject)
  })
  t.equal(status, 200)
  await waitFor(() => Object.values(agent.freeSockets).flat().length === 1, { what: 'the keep-alive socket to be idle in the pool' })
  // And a connection opened but never used (a browser's preconnect): Node counts it as busy.
  const unused = connect(port, '127.0.0.1')
  unused.on('error', () => {})
  await new Promise(resolve => unused.once('connect', resolve))

  const started = Date.now()
  api.process.kill('SIGTERM')
  const code = await api.exited
  const took = Date.now() - started
  t.equal(code, 0, 'exits with 0')
  t.ok(took < 5000, `exits in ${took} ms`)
  t.comment(`SIGTERM with an idle keep-alive and an unused connection: exit after ${took} ms`)
})
