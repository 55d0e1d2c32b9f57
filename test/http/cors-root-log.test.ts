import { Writable } from 'node:stream'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import t from 'tap'
import app, { serverOptions } from '../../src/app.ts'
import { build } from '../helpers/build.ts'
import { testEnv } from '../helpers/config.ts'
import { uploadForm } from '../helpers/multipart.ts'

t.test('a browser app on another origin may call the API and read what it needs; the admin is never shared', async t => {
  const { config } = await testEnv(t)
  const server = await build(t, config)
  const preflight = await server.inject({
    method: 'OPTIONS',
    url: '/api/upload/',
    headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'idempotency-key, authorization' }
  })
  t.equal(preflight.statusCode, 204)
  t.equal(preflight.headers['access-control-allow-origin'], '*')
  t.match(String(preflight.headers['access-control-allow-headers']), /Idempotency-Key/)
  const lookup = await server.inject({ method: 'GET', url: '/api/get-phone/?phone_number=123', headers: { origin: 'https://app.example' } })
  t.equal(lookup.headers['access-control-allow-origin'], '*')
  t.match(String(lookup.headers['access-control-expose-headers']), /Retry-After/)
  const admin = await server.inject({ method: 'GET', url: '/admin/login', headers: { origin: 'https://app.example' } })
  t.equal(admin.headers['access-control-allow-origin'], undefined, 'no CORS on the admin')
})

t.test('CORS_ORIGINS restricts the origins, and an empty list turns CORS off', async t => {
  const { config } = await testEnv(t, { CORS_ORIGINS: 'https://one.example, https://two.example' })
  const server = await build(t, config)
  const allowed = await server.inject({ method: 'GET', url: '/api/get-phone/?phone_number=1', headers: { origin: 'https://two.example' } })
  t.equal(allowed.headers['access-control-allow-origin'], 'https://two.example')
  const other = await server.inject({ method: 'GET', url: '/api/get-phone/?phone_number=1', headers: { origin: 'https://evil.example' } })
  t.equal(other.headers['access-control-allow-origin'], undefined)

  const { config: off } = await testEnv(t, { CORS_ORIGINS: '' })
  const closed = await build(t, off)
  const res = await closed.inject({ method: 'GET', url: '/api/get-phone/?phone_number=1', headers: { origin: 'https://two.example' } })
  t.equal(res.headers['access-control-allow-origin'], undefined)
})

t.test('GET / leads a person to the documentation', async t => {
  const { config } = await testEnv(t)
  const server = await build(t, config)
  const res = await server.inject({ method: 'GET', url: '/' })
  t.equal(res.statusCode, 302)
  t.equal(res.headers.location, '/docs')
})

t.test('one log line per request, with the reason of a refusal, and no deprecation warning', async t => {
  const warnings: string[] = []
  const onWarning = (w: Error): void => { warnings.push(w.message) }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done() } })
  const { config } = await testEnv(t, { LOG_LEVEL: 'info' })
  const options = serverOptions(config)
  const server = Fastify({ ...options, logger: { ...(options.logger as object), stream } })
  await server.register(fp(app), { config })
  t.teardown(() => server.close())

  const res = await server.inject({ method: 'POST', url: '/api/upload/', ...uploadForm('123', [{ filename: 'a.png', content: Buffer.from('not an image at all, just text') }]) })
  t.equal(res.statusCode, 415)
  const requestLines = lines.filter(l => l.msg === 'request')
  t.equal(requestLines.length, 1, 'one line for the request')
  t.equal(requestLines[0]!.status, 415)
  t.match(requestLines[0]!.reason, /is not an image/, 'the reason is logged')
  t.notOk(warnings.some(w => /disableRequestLogging/.test(w)), 'no FSTDEP023')
})
