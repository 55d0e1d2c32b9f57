import { randomUUID } from 'node:crypto'
import { ERRORS } from '@tus/utils'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { waitFor } from '../../scripts/lib/wait-for.ts'
import { RedisLocker, type RedisLockerOptions } from '../../src/staging/resumable-lock.ts'

function redisUrl (): string {
  const url = process.env.REDIS_URL
  if (!url) throw new Error('REDIS_URL is not set: run the suite with `npm test`')
  return url
}

/** A locker as one API process has it: its own command and subscriber connections. */
async function locker (t: Test, prefix: string, options: Partial<RedisLockerOptions> = {}): Promise<{ locker: RedisLocker, redis: Redis }> {
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 })
  const subscriber = new Redis(redisUrl())
  redis.on('error', () => {})
  t.teardown(() => { redis.disconnect(); subscriber.disconnect() })
  const made = new RedisLocker(redis, subscriber, { prefix, ttlMs: 600, retryMs: 10, ...options })
  await made.start()
  return { locker: made, redis }
}

const never = new AbortController().signal

t.test('a second request asks the holder (another process) to let go, and gets the lock once it does', async t => {
  const prefix = `test-${randomUUID()}`
  const { locker: a } = await locker(t, prefix)
  const { locker: b } = await locker(t, prefix)
  const held = a.newLock('upload-1')
  let asked = 0
  await held.lock(never, async () => {
    asked++
    await held.unlock()
  })
  const second = b.newLock('upload-1')
  await second.lock(never, () => {})
  t.equal(asked, 1, 'the holder was asked, over Redis, to let go')
  // Exclusive: a third request waits, and gives up when its request is aborted.
  const aborted = new AbortController()
  const third = a.newLock('upload-1').lock(aborted.signal, () => {})
  aborted.abort()
  t.equal(await third.catch(err => err), ERRORS.ERR_LOCK_TIMEOUT, 'an aborted waiter gives up')
  await second.unlock()
  const other = b.newLock('upload-2')
  await other.lock(never, () => {})
  await other.unlock()
})

t.test('the lock is renewed while held: a holder that does not let go keeps it past its TTL', async t => {
  const prefix = `test-${randomUUID()}`
  const { locker: a, redis } = await locker(t, prefix)
  const { locker: b } = await locker(t, prefix, { acquireTimeoutMs: 1500 })
  const held = a.newLock('upload-1')
  await held.lock(never, () => { /* busy: ignores the request */ })
  const key = a.key('upload-1')
  let last = await redis.pttl(key)
  await waitFor(async () => {
    const now = await redis.pttl(key)
    const renewed = now > last
    last = now
    return renewed
  }, { what: 'the lock to be renewed', intervalMs: 20 })
  const started = Date.now()
  t.equal(await b.newLock('upload-1').lock(never, () => {}).catch(err => err), ERRORS.ERR_LOCK_TIMEOUT, 'a waiter gives up after acquireTimeoutMs')
  t.ok(Date.now() - started >= 1500 - 50, 'having waited longer than the TTL')
  await held.unlock()
  t.equal(await redis.exists(key), 0, 'unlock frees it')
})

t.test('a crashed holder (no renewal) holds the upload one TTL at most; its late unlock frees nothing', async t => {
  const prefix = `test-${randomUUID()}`
  const { locker: a, redis: aRedis } = await locker(t, prefix)
  const { locker: b, redis } = await locker(t, prefix)
  const crashed = a.newLock('upload-1')
  await crashed.lock(never, () => {})
  // The process dies: no renewal, no unlock, no answer to release requests.
  aRedis.disconnect()
  const started = Date.now()
  const taken = b.newLock('upload-1')
  await taken.lock(never, () => {})
  const waited = Date.now() - started
  t.ok(waited <= 600 + 500, `taken over within the TTL (${waited} ms)`)
  // The old holder's unlock (had it survived) must not free the new holder's lock.
  await crashed.unlock()
  t.equal(await redis.exists(b.key('upload-1')), 1, 'still held by the new holder')
  await taken.unlock()
})

t.test('a holder whose lock expired behind its back is asked to stop', async t => {
  const prefix = `test-${randomUUID()}`
  const { locker: a, redis } = await locker(t, prefix)
  let stopped = false
  const lock = a.newLock('upload-1')
  await lock.lock(never, () => { stopped = true })
  // Redis lost the key (expired while unreachable, or flushed): the next renewal notices.
  await redis.del(a.key('upload-1'))
  await waitFor(() => stopped, { what: 'the holder to be asked to stop' })
  t.ok(stopped)
  await lock.unlock()
})
