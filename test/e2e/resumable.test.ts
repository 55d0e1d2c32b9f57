// Issue 10: resumable uploads (tus 1.0) with real processes: two API processes behind one
// "load balancer" (the test picks the process), shared staging directory and Redis, workers of
// their own. Small files and seconds-scale settings; every wait is on a state (waitFor).
import http from 'node:http'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Queue } from 'bullmq'
import { createConnection } from 'mongoose'
import t, { type Test } from 'tap'
import * as tus from 'tus-js-client'
import { startFlakyProxy } from '../../scripts/lib/flaky-proxy.ts'
import { freePort } from '../../scripts/lib/services.ts'
import { waitFor } from '../../scripts/lib/wait-for.ts'
import { UPLOAD_QUEUE } from '../../src/queue/upload-jobs.ts'
import { RESUMABLE_DIR } from '../../src/staging/resumable-store.ts'
import { testEnv } from '../helpers/config.ts'
import { randomPng } from '../helpers/images.ts'
import { uploadForm } from '../helpers/multipart.ts'
import { TUS, tusCreate, tusOffset, tusPatch } from '../helpers/tus.ts'
import { spawnProcess } from '../helpers/processes.ts'

interface UploadBody {
  phone_number: string
  results: Array<{ filename: string, status: string, upload_id: string, image_url: string | null }>
}

interface Cluster {
  apis: [string, string]
  env: Record<string, string>
  stagingDir: string
  queue: Queue
}

/** Two API processes and `workers` upload workers sharing one staging directory, Redis and database. */
async function cluster (t: Test, workers: number, overrides: Record<string, string> = {}): Promise<Cluster> {
  const ports = [await freePort(), await freePort()]
  const { env, stagingDir } = await testEnv(t, { HOST: '127.0.0.1', RATE_LIMIT_UPLOADS_PER_MINUTE: '0', RATE_LIMIT_LOOKUPS_PER_MINUTE: '0', ...overrides })
  for (const port of ports) spawnProcess(t, 'src/server.ts', { ...env, PORT: String(port) })
  for (let i = 0; i < workers; i++) spawnProcess(t, 'workers/upload-worker.ts', env)
  const apis = ports.map(port => `http://127.0.0.1:${port}`) as [string, string]
  const queue = new Queue(UPLOAD_QUEUE, { connection: { url: env.REDIS_URL }, prefix: env.QUEUE_PREFIX })
  t.teardown(() => queue.close())
  for (const api of apis) await waitFor(() => fetch(`${api}/health`).then(r => r.ok), { what: `${api}/health to answer 200` })
  await waitFor(async () => await queue.getWorkersCount() === workers, { what: `${workers} worker(s) to be ready` })
  return { apis, env, stagingDir, queue }
}

/** The same upload's URL as reached through another API process. */
const through = (location: string, api: string): string => api + new URL(location).pathname

/** A PATCH whose body the test sends bit by bit (node:http: fetch cannot hold a body open). */
function openPatch (url: string, offset: number, length: number): { request: http.ClientRequest, write: (bytes: Buffer) => Promise<void>, answer: Promise<{ status: number, body: string } | { error: string }> } {
  const request = http.request(url, {
    method: 'PATCH',
    headers: { ...TUS, 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream', 'Content-Length': String(length) }
  })
  const answer = new Promise<{ status: number, body: string } | { error: string }>(resolve => {
    request.once('response', res => {
      let body = ''
      res.on('data', chunk => { body += chunk })
      res.once('end', () => resolve({ status: res.statusCode!, body }))
      res.once('error', err => resolve({ error: err.message }))
    })
    request.once('error', err => resolve({ error: err.message }))
  })
  const write = (bytes: Buffer): Promise<void> => new Promise((resolve, reject) => request.write(bytes, err => err ? reject(err) : resolve()))
  return { request, write, answer }
}

async function download (api: string, imageUrl: string): Promise<Buffer> {
  const res = await fetch(api + new URL(imageUrl).pathname)
  return Buffer.from(await res.arrayBuffer())
}

async function stagedFiles (stagingDir: string): Promise<string[]> {
  const top = (await readdir(stagingDir).catch(() => [])).filter(name => name !== RESUMABLE_DIR)
  const resumable = await readdir(join(stagingDir, RESUMABLE_DIR)).catch(() => [])
  return [...top, ...resumable]
}

const partialSize = async (stagingDir: string, location: string): Promise<number> =>
  (await stat(join(stagingDir, RESUMABLE_DIR, location.split('/').pop()!)).catch(() => undefined))?.size ?? -1

t.test('interrupted at 40% on one API process, resumed through the other', async t => {
  const { apis: [a, b], stagingDir, queue } = await cluster(t, 1)
  const png = randomPng(200_000)
  const created = await tusCreate(a, { length: png.length, filename: 'flaky.png' })
  t.equal(created.status, 201)
  const location = created.headers.get('location')!
  t.ok(location.startsWith(a), 'created through A')

  // 40% goes through A; then the phone changes networks: its connection to A goes silent,
  // half-open (A still holds the upload's lock, waiting for bytes that will never come).
  const cut = Math.floor(png.length * 0.4)
  const stalled = openPatch(location, 0, png.length)
  await stalled.write(png.subarray(0, cut))
  await waitFor(async () => await partialSize(stagingDir, location) === cut, { what: 'A to hold 40% of the file' })

  // The phone resumes through B: B asks A (over Redis) to let the upload go, then answers.
  const head = await tusOffset(through(location, b))
  t.same(head, { status: 200, offset: cut }, 'B knows where the upload stands')
  const old = await stalled.answer
  t.ok('error' in old || old.status === 204, 'the stalled request on A was ended')

  const last = await tusPatch(through(location, b), cut, png.subarray(cut))
  t.equal(last.status, 200)
  const body = await last.json() as UploadBody
  t.equal(body.results[0]!.status, 'uploaded')
  t.equal(body.results[0]!.upload_id, location.split('/').pop())
  t.same(await download(b, body.results[0]!.image_url!), png, 'the stored bytes are the bytes sent')
  t.equal((await queue.getJobCounts()).completed, 1, 'one job')
  stalled.request.destroy()
  await waitFor(async () => (await stagedFiles(stagingDir)).length === 0, { what: 'the staging area to empty' })
})

t.test('concurrent PATCHes to one upload through two processes: one wins, the other gets 409/423, bytes intact', async t => {
  const { apis: [a, b], stagingDir, env } = await cluster(t, 1)
  const png = randomPng(120_000)
  const location = (await tusCreate(a, { length: png.length, filename: 'race.png' })).headers.get('location')!
  const half = Math.floor(png.length / 2)

  // The first PATCH (through A) is still sending when a second one (through B) starts at the same offset.
  const first = openPatch(location, 0, png.length)
  await first.write(png.subarray(0, half))
  await waitFor(async () => await partialSize(stagingDir, location) === half, { what: 'the first PATCH to be half-way' })
  const second = await tusPatch(through(location, b), 0, png)
  t.ok([409, 423].includes(second.status), `the second PATCH is refused (${second.status})`)
  t.match((await second.json() as { message: string }).message, /offset|busy/)
  const ended = await first.answer
  t.ok('error' in ended || ended.status === 204, 'the first PATCH was asked to let go and ended, keeping what it had')

  // Nothing was interleaved: the upload holds exactly the first half, and resumes from there.
  const { offset } = await tusOffset(through(location, b))
  t.equal(offset, half)
  const last = await tusPatch(through(location, a), offset, png.subarray(offset))
  t.equal(last.status, 200)
  const body = await last.json() as UploadBody
  t.same(await download(a, body.results[0]!.image_url!), png, 'the stored bytes are intact')
  const db = await createConnection(env.MONGODB_URL!).asPromise()
  t.teardown(() => db.close())
  t.equal(await db.collection('images').countDocuments(), 1, 'one record')
})

t.test('tus-js-client through a link that drops every 256 KB: resumes and stores the right bytes', async t => {
  const { apis: [a] } = await cluster(t, 1)
  const port = Number(new URL(a).port)
  const proxy = await startFlakyProxy({ target: { host: '127.0.0.1', port }, cutEveryBytes: 256_000 })
  t.teardown(() => proxy.close())
  // (What was in flight inside the API when the link died, up to ~100 KB, is sent again.)
  const png = randomPng(1_000_000)
  const lastResponse = await new Promise<tus.HttpResponse>((resolve, reject) => {
    const upload = new tus.Upload(png, {
      endpoint: `${proxy.url}/api/tus/`,
      metadata: { phone_number: '+44 20 7946 0958', filename: 'from-tus-js-client.png', filetype: 'image/png' },
      retryDelays: Array.from({ length: 30 }, (_, i) => Math.min(50 * 2 ** i, 500)),
      onSuccess: ({ lastResponse }) => resolve(lastResponse),
      onError: reject
    })
    upload.start()
  })
  const stats = proxy.stats()
  t.ok(stats.cuts >= 3, `the link dropped ${stats.cuts} times`)
  t.ok(stats.clientBytes < png.length * 1.5, `resumed, not restarted: ${stats.clientBytes} bytes sent for ${png.length}`)
  t.equal(lastResponse.getStatus(), 200)
  const body = JSON.parse(lastResponse.getBody()) as UploadBody
  t.equal(body.phone_number, '442079460958')
  t.match(body.results[0], { status: 'uploaded', filename: /_from-tus-js-client\.png$/ })
  t.same(await download(a, body.results[0]!.image_url!), png, 'the stored bytes are the bytes sent')
})

// The issue asks for 1,000; 200 keeps the suite within a 2-core machine's minutes.
// RESUMABLE_E2E_UPLOADS=1000 runs the figure.
const MIXED_UPLOADS = Number(process.env.RESUMABLE_E2E_UPLOADS ?? 200)

t.test(`${MIXED_UPLOADS} uploads, multipart and tus mixed, over two API processes and three workers: each stored exactly once`, async t => {
  const { apis, env, stagingDir, queue } = await cluster(t, 3, { WORKER_CONCURRENCY: '4' })
  const phones = ['5550100', '5550101', '5550102', '5550103', '5550104']
  const outcomes: Array<{ kind: 'multipart' | 'tus', uploadId: string, status: number }> = []

  const one = async (i: number): Promise<void> => {
    const png = randomPng(2000 + (i % 7) * 500)
    const phone = phones[i % phones.length]!
    const api = apis[i % 2]!
    if (i % 2 === 0) {
      const { payload, headers } = uploadForm(phone, [{ filename: `mp-${i}.png`, content: png }])
      const res = await fetch(`${api}/api/upload/`, { method: 'POST', body: new Uint8Array(payload), headers })
      const body = await res.json() as UploadBody
      outcomes.push({ kind: 'multipart', uploadId: body.results[0]!.upload_id, status: res.status })
      return
    }
    // tus: created on one process, the first part through it, the rest through the other.
    const location = (await tusCreate(api, { phone, filename: `tus-${i}.png`, length: png.length })).headers.get('location')!
    const split = Math.floor(png.length / 3)
    const first = await tusPatch(location, 0, png.subarray(0, split))
    if (first.status !== 204) throw new Error(`first PATCH answered ${first.status}`)
    const res = await tusPatch(through(location, apis[(i + 1) % 2]!), split, png.subarray(split))
    const body = await res.json() as UploadBody
    outcomes.push({ kind: 'tus', uploadId: body.results[0]!.upload_id, status: res.status })
  }
  let next = 0
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < MIXED_UPLOADS) await one(next++)
  }))

  t.equal(outcomes.length, MIXED_UPLOADS)
  t.same(outcomes.filter(o => o.status !== 200 && o.status !== 202), [], 'every upload accepted')
  const ids = new Set(outcomes.map(o => o.uploadId))
  t.equal(ids.size, MIXED_UPLOADS, 'one upload id per upload')
  await waitFor(async () => (await queue.getJobCounts()).completed === MIXED_UPLOADS, { what: 'every job to complete', timeoutMs: 120_000 })
  const db = await createConnection(env.MONGODB_URL!).asPromise()
  t.teardown(() => db.close())
  const records = await db.collection('images').find({}, { projection: { phone_number: 1, file_name: 1 } }).toArray()
  t.equal(records.length, MIXED_UPLOADS, 'records == uploads')
  t.same(records.map(r => String(r._id)).filter(id => !ids.has(id)), [], 'every record is one of the uploads (its _id is the upload id)')
  t.equal(new Set(records.map(r => `${r.phone_number}/${r.file_name}`)).size, MIXED_UPLOADS, 'no duplicate file')
  t.equal(outcomes.filter(o => o.kind === 'tus').length, Math.floor(MIXED_UPLOADS / 2), 'half of them resumable')
  await waitFor(async () => (await stagedFiles(stagingDir)).length === 0, { what: 'nothing left staged' })
  t.same(await stagedFiles(stagingDir), [])
})
