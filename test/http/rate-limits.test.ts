import t from 'tap'
import { startRedis } from '../../scripts/lib/services.ts'
import { build } from '../helpers/build.ts'
import { testEnv } from '../helpers/config.ts'

const lookup = (url: string, remoteAddress: string, headers: Record<string, string> = {}) => ({ method: 'GET' as const, url, remoteAddress, headers })

t.test('a lookup flood gets 429 with Retry-After and a message, counted across API processes', async t => {
  const { config } = await testEnv(t, { RATE_LIMIT_LOOKUPS_PER_MINUTE: '4', RATE_LIMIT_UPLOADS_PER_MINUTE: '2' })
  // Two API processes on one Redis.
  const a = await build(t, config)
  const b = await build(t, config)
  const address = '203.0.113.7'

  for (let i = 0; i < 4; i++) {
    const res = await (i % 2 === 0 ? a : b).inject(lookup('/api/get-phone/?phone_number=123', address))
    t.equal(res.statusCode, 404, `lookup ${i + 1} is served`)
    t.equal(res.headers['x-ratelimit-remaining'], String(3 - i))
  }
  // Both lookups share the budget.
  const refused = await a.inject(lookup('/api/uploads/6761a2f5c3b1e24d8f0a9b7c', address))
  t.equal(refused.statusCode, 429)
  const retryAfter = Number(refused.headers['retry-after'])
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${retryAfter}`)
  t.match(refused.json().message, /^Too many lookups .* at most 4 a minute\. Try again in \d+ seconds?\.$/)
  t.equal((await b.inject(lookup('/api/get-phone/?phone_number=123', address))).statusCode, 429, 'the other process refuses too')

  t.equal((await a.inject(lookup('/api/get-phone/?phone_number=123', '203.0.113.8'))).statusCode, 404, 'another address has its own budget')
  const { key } = await a.apiKeys.create('ios-app')
  t.equal((await b.inject(lookup('/api/get-phone/?phone_number=123', address, { 'x-api-key': key }))).statusCode, 404, 'an app with a key has its own budget at that address')

  // Uploads have a budget of their own, checked before the body is read.
  const post = { method: 'POST' as const, url: '/api/upload/', remoteAddress: address }
  t.equal((await a.inject(post)).statusCode, 400, 'not limited by the lookups')
  t.equal((await b.inject(post)).statusCode, 400)
  const tooMany = await a.inject(post)
  t.equal(tooMany.statusCode, 429)
  t.match(tooMany.json().message, /^Too many uploads/)
})

t.test('0 turns a limit off', async t => {
  const { config } = await testEnv(t, { RATE_LIMIT_LOOKUPS_PER_MINUTE: '0' })
  const app = await build(t, config)
  for (let i = 0; i < 5; i++) {
    const res = await app.inject(lookup('/api/get-phone/?phone_number=123', '203.0.113.9'))
    t.equal(res.statusCode, 404)
    t.equal(res.headers['x-ratelimit-limit'], undefined)
  }
})

t.test('with Redis down the limits fail open: lookups keep working from MongoDB', async t => {
  const redis = await startRedis()
  let current = redis
  // Registered first, so it runs last: the app closes while Redis is up again.
  t.teardown(() => current.stop())
  const { config } = await testEnv(t, { REDIS_URL: redis.url, RATE_LIMIT_LOOKUPS_PER_MINUTE: '1' })
  const app = await build(t, config)
  t.equal((await app.inject(lookup('/api/get-phone/?phone_number=123', '203.0.113.10'))).statusCode, 404)
  await redis.stop()
  const res = await app.inject(lookup('/api/get-phone/?phone_number=123', '203.0.113.10'))
  t.equal(res.statusCode, 404, 'served, not 429 or 503')
  current = await startRedis({ port: Number(new URL(redis.url).port) })
})
