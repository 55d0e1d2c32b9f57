// Dropbox's webhook: the verification GET, signed notifications (and forged ones refused), and a
// notification starting a sync at once, long before the next periodic run.
import { createHmac } from 'node:crypto'
import { Queue } from 'bullmq'
import t from 'tap'
import { waitFor } from '../../scripts/lib/wait-for.ts'
import { DROPBOX_SYNC_QUEUE } from '../../src/queue/dropbox-sync-jobs.ts'
import { build, startWorker } from '../helpers/build.ts'
import { testEnv } from '../helpers/config.ts'
import { dropboxEmulator } from '../helpers/dropbox.ts'
import { fakeJpeg } from '../helpers/images.ts'

// Only a webhook can bring a sync this side of the test's end.
const LONG_INTERVAL = '600000'

t.test('GET echoes the challenge as plain text that is never sniffed', async t => {
  const { env } = await dropboxEmulator(t)
  const { config } = await testEnv(t, { ...env, DROPBOX_SYNC_INTERVAL_MS: LONG_INTERVAL })
  const app = await build(t, config)
  const res = await app.inject({ method: 'GET', url: '/webhooks/dropbox?challenge=<b>abc123</b>' })
  t.equal(res.statusCode, 200)
  t.equal(res.body, '<b>abc123</b>')
  t.match(res.headers['content-type'], /^text\/plain/)
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  const without = await app.inject({ method: 'GET', url: '/webhooks/dropbox' })
  t.equal(without.statusCode, 400, 'no challenge, no echo')
})

t.test('POST without a valid signature is refused with 403 and queues nothing', async t => {
  const { emulator, env } = await dropboxEmulator(t)
  const { config } = await testEnv(t, { ...env, DROPBOX_SYNC_INTERVAL_MS: LONG_INTERVAL })
  const app = await build(t, config)
  const body = JSON.stringify({ list_folder: { accounts: [emulator.accountId] }, delta: { users: [emulator.userId] } })
  const post = (headers: Record<string, string>, payload = body) => app.inject({ method: 'POST', url: '/webhooks/dropbox', headers: { 'content-type': 'application/json', ...headers }, payload })
  const sign = (text: string, key: string) => createHmac('sha256', key).update(text).digest('hex')

  for (const [what, headers] of [
    ['missing', {}],
    ['signed with another key', { 'x-dropbox-signature': sign(body, 'not-the-secret') }],
    ['not hex', { 'x-dropbox-signature': 'z'.repeat(64) }],
    ['too short', { 'x-dropbox-signature': sign(body, emulator.appSecret).slice(0, 63) }]
  ] as const) {
    const res = await post(headers)
    t.equal(res.statusCode, 403, what)
    t.same(res.json(), { message: 'Missing or invalid X-Dropbox-Signature.' }, what)
  }
  const tampered = await post({ 'x-dropbox-signature': sign(body, emulator.appSecret) }, body.replace('delta', 'delte'))
  t.equal(tampered.statusCode, 403, 'the signature covers the exact bytes')
  const jobs = await app.dropboxSync.status()
  t.same(jobs, { last: undefined, running: undefined })
  const queue = new Queue(DROPBOX_SYNC_QUEUE, { connection: { url: config.redisUrl }, prefix: config.queuePrefix })
  t.teardown(() => queue.close())
  const queued = async () => Object.values(await queue.getJobCounts()).reduce((a, b) => a + b, 0)
  t.equal(await queued(), 0, 'no sync queued')

  const valid = await post({ 'x-dropbox-signature': sign(body, emulator.appSecret) })
  t.equal(valid.statusCode, 200, 'the right signature is accepted')
  t.equal(await queued(), 1, 'and queues a sync')
  // Notifications arriving together make one job.
  await post({ 'x-dropbox-signature': sign(body, emulator.appSecret) })
  t.equal(await queued(), 1, 'still one')
})

t.test('a notification from Dropbox syncs at once; a forged one gets 403', async t => {
  const { emulator, env } = await dropboxEmulator(t)
  const { config } = await testEnv(t, { ...env, DROPBOX_SYNC_INTERVAL_MS: LONG_INTERVAL })
  const app = await build(t, config)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  await startWorker(t, config)
  // The first scheduled run (at start) lists everything; only a webhook brings the next.
  await waitFor(async () => {
    const { last, running } = await app.dropboxSync.status()
    return last !== undefined && running === undefined
  }, { what: 'the first run to end', timeoutMs: 10_000 })
  emulator.configureWebhook({ url: `http://127.0.0.1:${port}/webhooks/dropbox` })

  const forged = await emulator.sendForgedWebhook()
  t.match(forged, { ok: false, status: 403 }, 'a forged notification is refused')

  const started = Date.now()
  await emulator.addFile('/5551230000/via-webhook.jpg', fakeJpeg())
  const found = await waitFor(async () => {
    const res = await app.inject({ method: 'GET', url: '/api/get-phone/?phone_number=5551230000' })
    return res.statusCode === 200 && res.json().image_urls['via-webhook.jpg']
  }, { what: 'the file in the lookup after the notification', timeoutMs: 15_000 })
  t.ok(found, 'in the lookup')
  t.ok(Date.now() - started < 15_000, `within ${Date.now() - started} ms, long before the ${LONG_INTERVAL} ms interval`)
  t.ok(emulator.counters.webhooksDelivered >= 1, 'Dropbox notified the change')
  // A run the workers' start queued may still have found it first; a webhook run follows anyway.
  const byWebhook = await waitFor(async () => (await app.dropboxSync.status()).last?.trigger === 'webhook', { what: 'a run started by the webhook', timeoutMs: 15_000 })
  t.ok(byWebhook, 'the notification started a run')
})

t.test('with the sync off there is no webhook route', async t => {
  const { env } = await dropboxEmulator(t)
  const { config } = await testEnv(t, env)
  const app = await build(t, config)
  t.equal((await app.inject({ method: 'GET', url: '/webhooks/dropbox?challenge=x' })).statusCode, 404)
  t.equal(app.dropboxSync.enabled, false)
})
