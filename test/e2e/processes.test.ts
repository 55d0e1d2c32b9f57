import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import t, { type Test } from 'tap'
import { freePort, ROOT, SERVICE_NODE_FLAGS } from '../../scripts/lib/services.ts'
import { testEnv } from '../helpers/config.ts'
import { dropboxEmulator } from '../helpers/dropbox.ts'
import { randomPng } from '../helpers/images.ts'

/** Runs `npm start` / `npm run worker` the way production does: node on the .ts entry. */
function spawnProcess (t: Test, script: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, script], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (d: Buffer) => { output += d })
  child.stderr!.on('data', (d: Buffer) => { output += d })
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await once(child, 'exit')
    }
  })
  Object.defineProperty(child, 'output', { get: () => output })
  return child
}

async function waitForHealth (base: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`${base}/health`).then(r => r.ok, () => false)
    if (ok) return
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error('the API did not become healthy')
}

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
  const inFlight = fetch(`${base}/api/upload/`, { method: 'POST', body: form('555', [randomPng()]) })
  await new Promise(resolve => setTimeout(resolve, 400))
  worker.kill('SIGTERM')
  const [code] = await once(worker, 'exit')
  t.equal(code, 0, 'the worker exits with 0')
  t.match((worker as ChildProcess & { output: string }).output, /worker stopped/)
  const late = await inFlight
  t.equal(late.status, 200, 'the request in flight still got its result')

  // A new worker takes over; the API stops gracefully on SIGTERM.
  worker = spawnProcess(t, 'workers/upload-worker.ts', env)
  const third = await fetch(`${base}/api/upload/`, { method: 'POST', body: form('555', [randomPng()]) })
  t.equal(third.status, 200)
  api.kill('SIGTERM')
  const [apiCode] = await once(api, 'exit')
  t.equal(apiCode, 0, 'the API exits with 0')

  const lookup = emulator.files().filter(f => f.path_lower.startsWith('/555/'))
  t.equal(lookup.length, 2, 'both later uploads are in Dropbox')
})

t.test('a bad setting stops the process at start with a message naming it', async t => {
  for (const script of ['src/server.ts', 'workers/upload-worker.ts']) {
    const child = spawnProcess(t, script, { PORT: 'not-a-port', REDIS_URL: 'redis://127.0.0.1:1' })
    const [code] = await once(child, 'exit')
    t.equal(code, 1, script)
    t.match((child as ChildProcess & { output: string }).output, /Invalid configuration: env\/PORT must be integer/, script)
  }
})

t.test('an API stopping while uploads wait for workers answers them 202, and the files are not lost', async t => {
  const port = await freePort()
  const { env } = await testEnv(t, { PORT: String(port), HOST: '127.0.0.1' })
  const base = `http://127.0.0.1:${port}`
  const api = spawnProcess(t, 'src/server.ts', env)
  await waitForHealth(base)

  const waiting = fetch(`${base}/api/upload/`, { method: 'POST', body: form('808', [randomPng()]) })
  await new Promise(resolve => setTimeout(resolve, 300))
  const started = Date.now()
  api.kill('SIGTERM')
  const res = await waiting
  t.equal(res.status, 202)
  t.ok(Date.now() - started < 15_000, 'answered within the shutdown grace')
  const [code] = await once(api, 'exit')
  t.equal(code, 0)
  t.ok(Date.now() - started < 15_000, 'the API exits promptly (keep-alive sockets do not hold it open)')

  // A worker started afterwards stores the accepted file.
  const { results } = await res.json() as { results: Array<{ upload_id: string }> }
  const worker = spawnProcess(t, 'workers/upload-worker.ts', env)
  const again = spawnProcess(t, 'src/server.ts', env)
  await waitForHealth(base)
  let status = ''
  for (let i = 0; i < 100 && status !== 'uploaded'; i++) {
    status = (await (await fetch(`${base}/api/uploads/${results[0]!.upload_id}`)).json() as { status: string }).status
    if (status !== 'uploaded') await new Promise(resolve => setTimeout(resolve, 100))
  }
  t.equal(status, 'uploaded')
  worker.kill('SIGTERM')
  again.kill('SIGTERM')
})
