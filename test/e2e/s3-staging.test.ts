// Issue 13: a deployment whose API and worker machines share only Redis, MongoDB, S3 and Dropbox.
// Two API processes and three upload workers, each with a staging directory of its own
// (STAGING=s3: the bytes travel through the bucket), take 1,000 uploads spread over both APIs;
// one worker is killed (kill -9) part-way. Each upload is stored exactly once, recorded exactly
// once, and nothing stays in the bucket or in a live process's scratch directory.
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { createConnection } from 'mongoose'
import t from 'tap'
import { freePort } from '../../scripts/lib/services.ts'
import { waitFor } from '../../scripts/lib/wait-for.ts'
import { loadConfig } from '../../src/config.ts'
import { s3Client } from '../../src/staging/s3-staging.ts'
import { s3StagingEnv, testEnv } from '../helpers/config.ts'
import { dropboxEmulator } from '../helpers/dropbox.ts'
import { randomPng } from '../helpers/images.ts'
import { uploadForm } from '../helpers/multipart.ts'
import { spawnProcess, waitForHealth } from '../helpers/processes.ts'

const UPLOADS = 1000
const CLIENTS = 20
const APIS = 2
const WORKERS = 3
/** After this many uploads were sent, worker 1 dies without a word. */
const KILL_AT = 400

t.test(`${APIS} APIs and ${WORKERS} workers sharing no directory: ${UPLOADS} uploads, each stored and recorded once`, async t => {
  const { emulator, env: dropboxEnv } = await dropboxEmulator(t)
  const { env, dataDir } = await testEnv(t, {
    ...dropboxEnv,
    ...s3StagingEnv(),
    HOST: '127.0.0.1',
    RATE_LIMIT_UPLOADS_PER_MINUTE: '0',
    RATE_LIMIT_LOOKUPS_PER_MINUTE: '0',
    // The upload pipeline is what is counted here; variants have tests of their own.
    VARIANTS_ENABLED: 'false',
    // The default wait, not the tests' shorter one: a busy machine still answers most with 200.
    UPLOAD_WAIT_MS: '120000',
    // The killed worker's jobs are taken over within seconds.
    WORKER_LOCK_MS: '1000',
    WORKER_STALLED_CHECK_MS: '1000'
  })
  // Each process its own scratch directory, as on a machine of its own.
  const scratch = (name: string): string => join(dataDir, '..', name)
  const bases: string[] = []
  for (let i = 1; i <= APIS; i++) {
    const port = await freePort()
    spawnProcess(t, 'src/server.ts', { ...env, PORT: String(port), STAGING_DIR: scratch(`api-${i}`) })
    bases.push(`http://127.0.0.1:${port}`)
  }
  const workers = Array.from({ length: WORKERS }, (_, i) => spawnProcess(t, 'workers/upload-worker.ts', { ...env, STAGING_DIR: scratch(`worker-${i + 1}`) }))
  for (const base of bases) await waitForHealth(base)

  // CLIENTS at a time, each sending its next upload to the next API in turn.
  const statuses = new Map<number, number>()
  const ids = new Set<string>()
  let next = 0
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (next < UPLOADS) {
      const n = next++
      if (n === KILL_AT) workers[0]!.process.kill('SIGKILL')
      const { payload, headers } = uploadForm(`555${String(n % 50).padStart(4, '0')}`, [{ filename: `photo${n}.png`, content: randomPng(1500) }])
      const res = await fetch(`${bases[n % APIS]}/api/upload/`, { method: 'POST', body: new Uint8Array(payload), headers })
      const body = await res.json() as { results?: Array<{ upload_id: string }> }
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
      for (const result of body.results ?? []) ids.add(result.upload_id)
    }
  }))
  t.equal(workers[0]!.process.signalCode, 'SIGKILL', 'worker 1 was killed part-way')
  // 200 (stored), or on a machine too busy for the wait, 202 (accepted, still being stored).
  t.same([...statuses.keys()].filter(status => status !== 200 && status !== 202), [], 'every upload answered 200 or 202')
  t.equal(ids.size, UPLOADS, 'each with an upload id of its own')

  const db = await createConnection(env.MONGODB_URL!).asPromise()
  t.teardown(() => db.close())
  await waitFor(async () => await db.collection('images').countDocuments() >= UPLOADS, { what: 'every upload to be recorded', timeoutMs: 120_000 })
  t.equal(await db.collection('images').countDocuments(), UPLOADS, 'one record per upload')
  const files = emulator.files()
  t.equal(files.length, UPLOADS, 'Dropbox holds each file once')
  t.equal(new Set(files.map(f => f.content_hash)).size, UPLOADS, 'and no content twice')

  // The staged objects go once their record is written (the answer may come just before).
  const config = loadConfig(env)
  const client = s3Client(config.s3Staging!)
  t.teardown(() => client.destroy())
  const bucket = { Bucket: config.s3Staging!.bucket }
  await waitFor(async () => ((await client.send(new ListObjectsV2Command(bucket))).KeyCount ?? 0) === 0, { what: 'the bucket to be empty' })
  t.same((await client.send(new ListMultipartUploadsCommand(bucket))).Uploads ?? [], [], 'no multipart upload left open')
  // Worker 1's disk died with it (its machine's scratch is its own affair).
  for (const name of [...bases.map((_, i) => `api-${i + 1}`), ...Array.from({ length: WORKERS - 1 }, (_, i) => `worker-${i + 2}`)]) {
    t.same(await readdir(scratch(name)).catch(() => []), [], `nothing left in ${name}'s scratch directory`)
  }
})
