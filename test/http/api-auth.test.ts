import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import t from 'tap'
import app, { serverOptions } from '../../src/app.ts'
import type { Config } from '../../src/config.ts'
import { apiKeyHash } from '../../src/core/api-key.ts'
import { apiKeyModel } from '../../src/models/api-key.ts'
import { waitFor } from '../../scripts/lib/wait-for.ts'
import { build, startWorker } from '../helpers/build.ts'
import { testEnv } from '../helpers/config.ts'
import { randomPng } from '../helpers/images.ts'
import { uploadForm } from '../helpers/multipart.ts'
import { stagedFiles } from '../helpers/queue.ts'

const upload = (phone: string, content: Buffer, headers: Record<string, string> = {}) => {
  const form = uploadForm(phone, [{ filename: 'a.png', content }])
  return { method: 'POST' as const, url: '/api/upload/', payload: form.payload, headers: { ...form.headers, ...headers } }
}

interface Teardown {
  teardown: (fn: () => unknown) => void
}

/** The app with its log lines kept, to check what they hold. */
async function buildWithLogs (t: Teardown, config: Config): Promise<{ server: FastifyInstance, logs: () => string }> {
  let text = ''
  const stream = new Writable({ write (chunk, _enc, done) { text += String(chunk); done() } })
  const options = serverOptions(config)
  const server = Fastify({ ...options, logger: { ...(options.logger as object), stream } })
  await server.register(fp(app), { config })
  t.teardown(() => server.close())
  return { server, logs: () => text }
}

t.test('API_AUTH=required: every /api route wants a key; a valid key works end to end, a revoked one is refused; image URLs stay public', async t => {
  const { config } = await testEnv(t, { API_AUTH: 'required', LOG_LEVEL: 'info' })
  const { server, logs } = await buildWithLogs(t, config)
  await startWorker(t, { ...config, logLevel: 'silent' })
  const { key } = await server.apiKeys.create('ios-app')

  const routes = [
    upload('5550001', randomPng()),
    { method: 'GET' as const, url: '/api/get-phone/?phone_number=5550001' },
    { method: 'GET' as const, url: '/api/get-phone?phone_number=5550001' },
    { method: 'GET' as const, url: '/api/uploads/6761a2f5c3b1e24d8f0a9b7c' }
  ]
  for (const route of routes) {
    const res = await server.inject(route)
    t.equal(res.statusCode, 401, `${route.method} ${route.url} without a key`)
    t.match(res.headers['www-authenticate'], /^Bearer/)
    t.match(res.json().message, /needs an API key/)
  }
  for (const [what, headers, message] of [
    ['another scheme', { authorization: 'Basic dXNlcjpwYXNz' }, /Bearer/],
    ['a key that does not exist', { 'x-api-key': `iuk_${'A'.repeat(43)}` }, /not valid/],
    ['two different keys', { authorization: `Bearer ${key}`, 'x-api-key': `iuk_${'B'.repeat(43)}` }, /different keys/]
  ] as const) {
    const res = await server.inject({ method: 'GET', url: '/api/get-phone/?phone_number=5550001', headers })
    t.equal(res.statusCode, 401, what)
    t.match(res.json().message, message, what)
  }
  t.same(await stagedFiles(config), [], 'a refused upload stages nothing')

  const content = randomPng()
  const stored = await server.inject(upload('5550001', content, { authorization: `Bearer ${key}` }))
  t.equal(stored.statusCode, 200, stored.body)
  const [result] = stored.json().results
  const status = await server.inject({ method: 'GET', url: `/api/uploads/${result.upload_id}`, headers: { 'x-api-key': key } })
  t.equal(status.json().status, 'uploaded', 'X-API-Key works as well')
  const lookup = await server.inject({ method: 'GET', url: '/api/get-phone/?phone_number=5550001', headers: { 'x-api-key': key } })
  t.same(lookup.json().image_urls, { [result.filename]: result.image_url })
  const file = await server.inject({ method: 'GET', url: new URL(result.image_url).pathname })
  t.equal(file.statusCode, 200, 'the image URL needs no key')
  t.same(file.rawPayload, content)
  t.equal((await server.inject({ method: 'GET', url: '/health' })).statusCode, 200, '/health needs no key')

  const record = await apiKeyModel(server.db.connection).findOne({ name: 'ios-app' }).lean()
  t.equal(record?.key_hash, apiKeyHash(key), 'the key is stored as its hash')
  t.ok(record?.last_used_at, 'its last use is recorded')

  await server.apiKeys.revokeByName('ios-app')
  const revoked = await server.inject({ method: 'GET', url: '/api/get-phone/?phone_number=5550001', headers: { authorization: `Bearer ${key}` } })
  t.equal(revoked.statusCode, 401, 'revoked: refused by this process at once')
  t.match(revoked.json().message, /revoked/)
  t.match(revoked.headers['www-authenticate'], /invalid_token/)

  t.notOk(logs().includes(key), 'the key is in no log line')
  t.match(logs(), /"apiKey":"ios-app"/, 'its name is')
})

t.test('another API process stops accepting a revoked key once its cache entry expires', async t => {
  const { config } = await testEnv(t, { API_AUTH: 'required', API_KEY_CACHE_SECONDS: '2' })
  const a = await build(t, config)
  const b = await build(t, config)
  const { key } = await a.apiKeys.create('android-app')
  const lookup = (server: FastifyInstance) => server.inject({ method: 'GET', url: '/api/get-phone/?phone_number=42', headers: { 'x-api-key': key } })
  t.equal((await lookup(b)).statusCode, 404, 'accepted (no images yet)')
  await a.apiKeys.revokeByName('android-app')
  t.equal((await lookup(a)).statusCode, 401, 'the revoking process at once')
  const refused = await waitFor(async () => (await lookup(b)).statusCode === 401, { what: 'the other process to refuse the revoked key', timeoutMs: 10_000 })
  t.ok(refused, 'the other within API_KEY_CACHE_SECONDS')
})

t.test('Idempotency-Key is scoped per API key: the same key under two apps makes two uploads', async t => {
  const { config } = await testEnv(t, { API_AUTH: 'required' })
  const server = await build(t, config)
  await startWorker(t, config)
  const { key: ios } = await server.apiKeys.create('ios-app')
  const { key: android } = await server.apiKeys.create('android-app')
  const content = randomPng()
  const send = (apiKey: string) => server.inject(upload('5550002', content, { authorization: `Bearer ${apiKey}`, 'idempotency-key': 'photo-1' }))

  const first = await send(ios)
  const other = await send(android)
  const retry = await send(ios)
  t.equal(first.statusCode, 200, first.body)
  t.equal(other.statusCode, 200, other.body)
  t.not(other.json().results[0].upload_id, first.json().results[0].upload_id, 'another app: another upload')
  t.same(retry.json(), first.json(), 'the same app: the first answer')
  t.equal(await server.db.images.countDocuments({ phone_number: '5550002' }), 2)
})

t.test('API_AUTH=off keeps the open contract: no key, a wrong or a revoked one are all served; the start warns', async t => {
  const { config } = await testEnv(t, { LOG_LEVEL: 'warn' })
  const { server, logs } = await buildWithLogs(t, config)
  t.match(logs(), /API_AUTH=off/)
  const { key } = await server.apiKeys.create('old-app')
  await server.apiKeys.revokeByName('old-app')
  for (const headers of [{}, { 'x-api-key': 'whatever' }, { authorization: `Bearer ${key}` }]) {
    const res = await server.inject({ method: 'GET', url: '/api/get-phone/?phone_number=42', headers })
    t.equal(res.statusCode, 404, JSON.stringify(headers))
  }
})
