import { Queue } from 'bullmq'
import t from 'tap'
import { freePort } from '../../scripts/lib/services.ts'
import { waitFor } from '../../scripts/lib/wait-for.ts'
import { UPLOAD_QUEUE } from '../../src/queue/upload-jobs.ts'
import { testEnv } from '../helpers/config.ts'
import { dropboxEmulator } from '../helpers/dropbox.ts'
import { randomPng } from '../helpers/images.ts'
import { spawnProcess, waitForHealth } from '../helpers/processes.ts'

function form (phone: string, files: Buffer[]): FormData {
  const body = new FormData()
  body.append('phone_number', phone)
  files.forEach((content, i) => body.append('images', new Blob([content], { type: 'image/png' }), `photo${i}.png`))
  return body
}

t.test('API and worker as separate processes, Dropbox storage, graceful stops', async t => {
  const { emulator, env: dropboxEnv } = await dropboxEmulator(t, { latencyMs: 150 })
  const port = await freePort()
  const { env } = await testEnv(t, { ...dropboxEnv, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' })
  const base = `http://127.0.0.1:${port}`
  const api = spawnProcess(t, 'src/server.ts', env)
  let worker = spawnProcess(t, 'workers/upload-worker.ts', env)
  await waitForHealth(base)

  const files = [randomPng(3000), randomPng(4000)]
  const res = await fetch(`${base}/api/upload/`, { method: 'POST', body: form('1234567890', files) })
  t.equal(res.status, 200)
  const body = await res.json() as { results: Array<{ image_url: string }> }
  for (const [i, result] of body.results.entries()) {
    t.same(Buffer.from(await (await emulator.download(result.image_url)).arrayBuffer()), files[i], `bytes of file ${i}`)
  }

  // SIGTERM while a job is active: the worker finishes it, then exits cleanly.
  const queue = new Queue(UPLOAD_QUEUE, { connection: { url: env.REDIS_URL }, prefix: env.QUEUE_PREFIX })
  t.teardown(() => queue.close())
  const inFlight = fetch(`${base}/api/upload/`, { method: 'POST', body: form('555', [randomPng()]) })
  const active = await waitFor(() => queue.getActive().then(jobs => jobs[0]), { what: 'a job to be active', intervalMs: 10 })
  worker.process.kill('SIGTERM')
  t.equal(await worker.exited, 0, 'the worker exits with 0')
  t.match(worker.output(), /worker stopped/)
  t.equal(await queue.getJobState(active.id!), 'completed', 'the job active at SIGTERM was finished by the stopping worker')
  const late = await inFlight
  t.equal(late.status, 200, 'the request in flight still got its result')

  // A new worker takes over; the API stops gracefully on SIGTERM.
  worker = spawnProcess(t, 'workers/upload-worker.ts', env)
  const third = await fetch(`${base}/api/upload/`, { method: 'POST', body: form('555', [randomPng()]) })
  t.equal(third.status, 200)
  api.process.kill('SIGTERM')
  t.equal(await api.exited, 0, 'the API exits with 0')

  const lookup = emulator.files().filter(f => f.path_lower.startsWith('/555/'))
  t.equal(lookup.length, 2, 'both later uploads are in Dropbox')
})

t.test('a bad setting stops the process at start with a message naming it', async t => {
  for (const script of ['src/server.ts', 'workers/upload-worker.ts']) {
    const child = spawnProcess(t, script, { PORT: 'not-a-port', REDIS_URL: 'redis://127.0.0.1:1' })
    t.equal(await child.exited, 1, script)
    t.match(child.output(), /Invalid configuration: env\/PORT must be integer/, script)
  }
})

t.test('an API stopping while uploads wait for workers answers them 202, and the files are not lost', async t => {
  const port = await freePort()
  const { env } = await testEnv(t, { PORT: String(port), HOST: '127.0.0.1' })
  const base = `http://127.0.0.1:${port}`
  const api = spawnProcess(t, 'src/server.ts', env)
  await waitForHealth(base)

  const queue = new Queue(UPLOAD_QUEUE, { connection: { url: env.REDIS_URL }, prefix: env.QUEUE_PREFIX })
  t.teardown(() => queue.close())
  const waiting = fetch(`${base}/api/upload/`, { method: 'POST', body: form('808', [randomPng()]) })
  // No worker runs: the request waits on its queued job.
  await waitFor(() => queue.getWaitingCount(), { what: 'the upload to be queued', intervalMs: 10 })
  const started = Date.now()
  api.process.kill('SIGTERM')
  const res = await waiting
  t.equal(res.status, 202)
  t.ok(Date.now() - started < 15_000, 'answered within the shutdown grace')
  t.equal(await api.exited, 0)
  t.ok(Date.now() - started < 15_000, 'the API exits promptly (keep-alive sockets do not hold it open)')

  // A worker started afterwards stores the accepted file.
  const { results } = await res.json() as { results: Array<{ upload_id: string }> }
  const worker = spawnProcess(t, 'workers/upload-worker.ts', env)
  const again = spawnProcess(t, 'src/server.ts', env)
  await waitForHealth(base)
  const status = await waitFor(async () => {
    const { status } = await (await fetch(`${base}/api/uploads/${results[0]!.upload_id}`)).json() as { status: string }
    return status === 'uploaded' && status
  }, { what: 'the accepted file to be stored' })
  t.equal(status, 'uploaded')
  await Promise.all([worker.stop(), again.stop()])
})
