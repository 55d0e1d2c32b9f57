// Operations (issue 11): liveness and readiness, Prometheus metrics (API and worker) and their
// token, request ids from the request to the job and the worker's log line, load shedding, and
// the server's connection limits.
import { connect } from 'node:net'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import t from 'tap'
import { freePort, startRedis } from '../../scripts/lib/services.ts'
import { waitFor } from '../../scripts/lib/wait-for.ts'
import { loadConfig, ConfigError } from '../../src/config.ts'
import { startUploadWorker } from '../../src/worker/start-worker.ts'
import { build, startWorker } from '../helpers/build.ts'
import { testEnv } from '../helpers/config.ts'
import { dropboxEmulator } from '../helpers/dropbox.ts'
import { randomPng } from '../helpers/images.ts'
import { uploadForm } from '../helpers/multipart.ts'

const TOKEN = 'metrics-token-0123456789abcdef'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** The value of one series in Prometheus's text format (labels in any order), or undefined. */
function metric (text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match || match[1] !== name) continue
    const have = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(m => [m[1], m[2]]))
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3])
  }
  return undefined
}

t.test('liveness asks no dependency; readiness names the one that fails, and recovers', async t => {
  const redis = await startRedis()
  let current = redis
  t.teardown(() => current.stop())
  const { config } = await testEnv(t, { REDIS_URL: redis.url })
  const app = await build(t, config)

  const live = await app.inject({ method: 'GET', url: '/health/live' })
  t.equal(live.statusCode, 200)
  t.equal(live.json().status, 'ok')
  t.type(live.json().uptime_seconds, 'number')
  const ready = await app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(ready.statusCode, 200, ready.body)
  t.same(ready.json(), { status: 'ready', checks: { redis: 'ok', mongodb: 'ok', storage: 'ok', staging: 'ok' }, failed: [] })

  const port = Number(new URL(redis.url).port)
  await redis.stop()
  const down = await app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(down.statusCode, 503)
  t.same(down.json().failed, ['redis'], 'names Redis, and only Redis')
  t.equal(down.json().checks.redis, 'unreachable')
  t.match(down.json().message, /redis unreachable/)
  t.ok(down.headers['retry-after'])
  t.notMatch(down.body, /ECONNREFUSED|127\.0\.0\.1|:\d{4,5}/, 'no address or error text in the answer')
  t.equal((await app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200, 'alive while Redis is down')
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 503, '/health as before')

  current = await startRedis({ port })
  await waitFor(async () => (await app.inject({ method: 'GET', url: '/health/ready' })).statusCode === 200, { what: 'ready again once Redis is back' })
  t.pass('ready again once Redis is back')
})

t.test('readiness with Dropbox makes an authenticated call: refused credentials are named', async t => {
  const { emulator, env } = await dropboxEmulator(t)
  const { config } = await testEnv(t, env)
  const app = await build(t, config)
  const ready = await app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(ready.statusCode, 200, ready.body)
  t.equal(emulator.counters.calls['users/get_current_account'], 1, 'Dropbox was asked')
  const again = await app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(again.statusCode, 200)
  t.equal(emulator.counters.calls['users/get_current_account'], 1, 'at most once per 10 s')

  const { config: wrong } = await testEnv(t, { ...env, DROPBOX_REFRESH_TOKEN: 'not-the-token' })
  const refused = await build(t, wrong)
  const res = await refused.inject({ method: 'GET', url: '/health/ready' })
  t.equal(res.statusCode, 503)
  t.same(res.json().failed, ['storage'])
  t.equal(res.json().checks.storage, 'refused')
})

t.test('/metrics: request durations by route pattern, uploads accepted and rejected, queues, storage; the worker\'s own', async t => {
  const { config } = await testEnv(t)
  const app = await build(t, config)
  const worker = await startWorker(t, config)

  const ok = await app.inject({ method: 'POST', url: '/api/upload/', ...uploadForm('5550100', [{ filename: 'a.png', content: randomPng(3000) }]) })
  t.equal(ok.statusCode, 200, ok.body)
  const refused = await app.inject({ method: 'POST', url: '/api/upload/', ...uploadForm('5550100', [{ filename: 'a.png', content: Buffer.from('not an image at all, just text') }]) })
  t.equal(refused.statusCode, 415)
  await app.inject({ method: 'GET', url: '/nowhere/secret-value-42?token=hunter2' })
  await app.inject({ method: 'GET', url: '/api/uploads/6761a2f5c3b1e24d8f0a9b7c' })

  const res = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const text = res.body
  t.equal(metric(text, 'image_upload_http_request_duration_seconds_count', { method: 'POST', route: '/api/upload/', status_code: '200' }), 1)
  t.equal(metric(text, 'image_upload_http_request_duration_seconds_count', { method: 'POST', route: '/api/upload/', status_code: '415' }), 1)
  t.equal(metric(text, 'image_upload_http_request_duration_seconds_count', { method: 'GET', route: '/api/uploads/:upload_id', status_code: '404' }), 1, 'the route pattern')
  t.equal(metric(text, 'image_upload_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status_code: '404' }), 1)
  t.notMatch(text, /secret-value-42|hunter2|6761a2f5c3b1e24d8f0a9b7c/, 'never a raw URL')
  t.equal(metric(text, 'image_upload_files_accepted_total'), 1)
  const accepted = await app.uploadQueue.queue.getJob(ok.json().results[0].upload_id)
  t.equal(metric(text, 'image_upload_accepted_bytes_total'), accepted?.data.size, 'the bytes accepted')
  t.equal(metric(text, 'image_upload_uploads_rejected_total', { reason: 'not_an_image' }), 1)
  t.equal(metric(text, 'image_upload_queue_jobs', { queue: 'uploads', state: 'waiting' }), 0)
  t.equal(metric(text, 'image_upload_queue_jobs', { queue: 'uploads', state: 'failed' }), 0)
  t.type(metric(text, 'image_upload_staged_bytes'), 'number')
  t.type(metric(text, 'process_resident_memory_bytes'), 'number', 'Node\'s default metrics')
  t.type(metric(text, 'nodejs_eventloop_lag_p99_seconds'), 'number')

  const workerText = await worker.metrics.registry.metrics()
  t.equal(metric(workerText, 'image_upload_job_duration_seconds_count', { queue: 'uploads', outcome: 'completed' }), 1)
  t.equal(metric(workerText, 'image_upload_storage_calls_total', { backend: 'local', operation: 'put', outcome: 'ok' }), 1)
  t.equal(metric(workerText, 'image_upload_job_retries_total'), undefined, 'no retry')
  t.type(metric(workerText, 'process_cpu_seconds_total'), 'number')
})

t.test('the worker counts Dropbox batch sizes and 429s by reason', async t => {
  const { emulator, env } = await dropboxEmulator(t)
  const { config } = await testEnv(t, env)
  const app = await build(t, config)
  const worker = await startWorker(t, config)
  const files = [1, 2, 3].map(i => ({ filename: `${i}.png`, content: randomPng(2000 + i) }))
  const first = await app.inject({ method: 'POST', url: '/api/upload/', ...uploadForm('5550102', files) })
  t.equal(first.statusCode, 200, first.body)
  let text = await worker.metrics.registry.metrics()
  t.equal(metric(text, 'image_upload_dropbox_batch_entries_sum'), 3, 'three files committed')
  t.equal(metric(text, 'image_upload_dropbox_batch_entries_count'), emulator.counters.commits, 'in as many commits as Dropbox saw')
  t.equal(metric(text, 'image_upload_storage_calls_total', { backend: 'dropbox', operation: 'put', outcome: 'ok' }), 3)

  // One call a second: the next upload meets Dropbox's 429s; once they stop, it is stored.
  emulator.configure({ rateLimit: { requestsPerSecond: 1, retryAfterSeconds: 1 } })
  const sending = app.inject({ method: 'POST', url: '/api/upload/', ...uploadForm('5550102', [{ filename: 'slow.png', content: randomPng(3000) }]) })
  await waitFor(() => emulator.counters.tooManyRequests > 0, { what: 'a 429 from Dropbox' })
  emulator.configure({ rateLimit: null })
  const second = await sending
  t.equal(second.statusCode, 200, second.body)
  text = await worker.metrics.registry.metrics()
  t.equal(metric(text, 'image_upload_storage_rate_limited_total', { backend: 'dropbox', reason: 'too_many_requests' }), emulator.counters.tooManyRequests, 'every 429, by reason')
  t.ok(emulator.counters.tooManyRequests > 0)
})

t.test('METRICS_TOKEN protects /metrics, of the API and of the worker', async t => {
  const workerPort = await freePort()
  const { config } = await testEnv(t, { METRICS_TOKEN: TOKEN, WORKER_METRICS_PORT: String(workerPort) })
  const app = await build(t, config)
  await startWorker(t, config)

  const none = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(none.statusCode, 401)
  t.equal(none.headers['www-authenticate'], 'Bearer realm="metrics"')
  t.match(none.json().message, /METRICS_TOKEN/)
  t.equal((await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}x` } })).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Basic ${TOKEN}` } })).statusCode, 401)
  const ok = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(ok.statusCode, 200)
  t.match(ok.body, /image_upload_http_request_duration_seconds/)

  const url = `http://127.0.0.1:${workerPort}/metrics`
  t.equal((await fetch(url)).status, 401)
  const scraped = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(scraped.status, 200)
  t.match(await scraped.text(), /image_upload_job_duration_seconds/)
  t.equal((await fetch(`http://127.0.0.1:${workerPort}/other`)).status, 404)
  t.throws(() => loadConfig({ METRICS_TOKEN: 'short' }), ConfigError, 'a token of at least 16 characters')
})

t.test('one request id from the request to its jobs and the worker\'s log lines', async t => {
  const { config } = await testEnv(t)
  const app = await build(t, config)
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(JSON.parse(String(chunk))); done() } })
  const running = await startUploadWorker(config, pino({ level: 'info' }, stream))
  t.teardown(() => running.close())

  const form = uploadForm('5550101', [{ filename: 'a.png', content: randomPng() }])
  const res = await app.inject({ method: 'POST', url: '/api/upload/', payload: form.payload, headers: { ...form.headers, 'x-request-id': 'phone-trace:42' } })
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.headers['x-request-id'], 'phone-trace:42', 'echoed')
  const uploadId = res.json().results[0].upload_id
  const job = await app.uploadQueue.queue.getJob(uploadId)
  t.equal(job?.data.requestId, 'phone-trace:42', 'in the job data')
  const stored = await waitFor(() => lines.find(l => l.msg === 'image stored' && l.uploadId === uploadId), { what: 'the worker\'s log line' })
  t.equal(stored.requestId, 'phone-trace:42', 'in the worker\'s log line')

  for (const insane of ['a b', 'x'.repeat(129), 'é', '']) {
    const other = await app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': insane } })
    t.match(other.headers['x-request-id'], UUID, `${JSON.stringify(insane.slice(0, 10))} replaced by a new id`)
  }
  const fresh = await app.inject({ method: 'GET', url: '/health/live' })
  t.match(fresh.headers['x-request-id'], UUID, 'one is made when none is sent')
  const notFound = await app.inject({ method: 'GET', url: '/nowhere' })
  t.ok(notFound.headers['x-request-id'], 'on every answer')
})

t.test('under pressure: 503 with Retry-After and a message, but liveness and metrics answer', async t => {
  // An RSS limit of one byte: over it as soon as under-pressure has sampled memory once.
  const { config } = await testEnv(t, { PRESSURE_MAX_RSS_BYTES: '1' })
  const app = await build(t, config)
  const shed = await waitFor(async () => {
    const res = await app.inject({ method: 'GET', url: '/api/get-phone/?phone_number=1' })
    return res.statusCode === 503 ? res : undefined
  }, { what: 'load shedding to start' })
  t.equal(shed.headers['retry-after'], '10')
  t.same(shed.json(), { message: 'The service is overloaded right now. Please retry after the Retry-After seconds.' })
  t.notMatch(shed.body, /rss|heap|bytes/i, 'nothing about the process')
  t.equal((await app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 503, 'not ready while overloaded')
  const metrics = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(metrics.statusCode, 200)
  t.ok(metric(metrics.body, 'image_upload_load_shed_total', { kind: 'rssBytes' })! >= 1)
})

t.test('connection limits and timeouts are settings', async t => {
  t.throws(() => loadConfig({ HEADERS_TIMEOUT_MS: '60000', REQUEST_TIMEOUT_MS: '30000' }), /HEADERS_TIMEOUT_MS must not be more than REQUEST_TIMEOUT_MS/)
  const { config } = await testEnv(t, { MAX_REQUESTS_PER_SOCKET: '2', MAX_CONNECTIONS: '3' })
  t.equal(config.server.maxConnections, 3)
  const app = await build(t, config)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  t.equal(app.server.maxConnections, 3)
  t.equal(app.server.maxRequestsPerSocket, 2)

  // Two requests on one keep-alive connection: the second answer closes it.
  const answers = await new Promise<string>(resolve => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\nGET /health/live HTTP/1.1\r\nHost: x\r\n\r\n')
    })
    let text = ''
    socket.on('data', chunk => {
      text += chunk
      // Both answers are in (each a small JSON body): the client hangs up, as told to.
      if (text.match(/HTTP\/1\.1 200/g)?.length === 2 && text.endsWith('}')) socket.end()
    })
    socket.on('close', () => resolve(text))
  })
  t.equal(answers.match(/HTTP\/1\.1 200/g)?.length, 2)
  t.match(answers.split('HTTP/1.1 200').at(-1)!, /connection: close/i, 'the last allowed request closes the connection')
})
