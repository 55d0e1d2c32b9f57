import rateLimit, { normalizeIP } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import { HttpError } from '../../core/http-error.ts'
import { connected, isRedisUnavailable, producerConnection } from '../../queue/redis.ts'

type Group = 'uploads' | 'lookups'

/**
 * Which /api routes are limited, and by which setting (RATE_LIMIT_<GROUP>_PER_MINUTE). The two
 * lookups share one budget. A new /api route chooses its group here; one left out is not limited.
 */
const GROUPS = new Map<string, Group>([
  ['POST /api/upload/', 'uploads'],
  // A resumable upload counts once, at its creation: its PATCHes and HEADs are the same upload.
  ['POST /api/tus', 'uploads'],
  ['GET /api/get-phone/', 'lookups'],
  ['HEAD /api/get-phone/', 'lookups'],
  ['GET /api/uploads/:upload_id', 'lookups'],
  ['HEAD /api/uploads/:upload_id', 'lookups']
])

const WORDS: Record<Group, string> = { uploads: 'uploads', lookups: 'lookups (image lists and upload statuses)' }
const WINDOW_MS = 60_000
/** Redis down is logged once in this long, not on every request. */
const WARN_INTERVAL_MS = 60_000

type Limiter = ReturnType<FastifyInstance['createRateLimit']>

/**
 * Who a budget belongs to: the client address (an IPv6 address by its /64, which one phone
 * holds whole), and with a valid API key that key at that address. Never the key alone: every
 * install of an app shares its key, so a budget per key would cap the whole app, and one copy
 * of a key pulled out of the app could spend it for everyone.
 */
function clientOf (request: FastifyRequest): string {
  const address = normalizeIP(request.ip)
  return request.apiKey ? `key:${request.apiKey.id}:${address}` : `ip:${address}`
}

/** A limiter counting in Redis under its own namespace, shared by every API process. */
async function limiter (fastify: FastifyInstance, redis: Redis, nameSpace: string, max: number): Promise<Limiter> {
  let limit: Limiter | undefined
  // In a scope of its own: registered here, @fastify/rate-limit would also act on every route
  // that configures it for itself (the admin's login), counting those twice.
  await fastify.register(async (scope) => {
    await scope.register(rateLimit, { global: false, redis, nameSpace, max, timeWindow: WINDOW_MS, keyGenerator: clientOf, skipOnError: false })
    limit = scope.createRateLimit()
  })
  return limit!
}

const seconds = (n: number): string => n === 1 ? '1 second' : `${n} seconds`

/**
 * Abuse limits on the public API, counted in Redis so they hold across every API process: a
 * fixed one-minute window per client and group, checked before a body is read. Over the limit:
 * 429 with Retry-After. With Redis unreachable the limits fail open (uploads answer 503 anyway,
 * lookups keep working from MongoDB); a warning says so.
 */
export default fp(async (fastify) => {
  const { rateLimits, redisUrl, queuePrefix } = fastify.config
  const budgets: Record<Group, number> = { uploads: rateLimits.uploadsPerMinute, lookups: rateLimits.lookupsPerMinute }
  if (budgets.uploads === 0 && budgets.lookups === 0) return

  // Fail-fast like the producer's: a limit check never waits for a Redis that is down.
  const redis = producerConnection(redisUrl, 'api-rate-limits', err => { fastify.log.warn({ err: err.message }, 'rate-limit redis connection error') })
  fastify.addHook('onClose', async () => { redis.disconnect() })
  await connected(redis)
  const limiters: Partial<Record<Group, Limiter>> = {}
  for (const group of ['uploads', 'lookups'] as const) {
    if (budgets[group] > 0) limiters[group] = await limiter(fastify, redis, `${queuePrefix}:rate-limit:${group}:`, budgets[group])
  }

  let warnedAt = 0
  fastify.addHook('onRequest', async (request, reply) => {
    const group = GROUPS.get(`${request.method} ${request.routeOptions.url}`)
    const limit = group && limiters[group]
    if (!group || !limit) return
    let state
    try {
      state = await limit(request)
    } catch (err) {
      if (!(err instanceof Error) || !isRedisUnavailable(err)) throw err
      if (Date.now() - warnedAt > WARN_INTERVAL_MS) {
        warnedAt = Date.now()
        request.log.warn({ err: err.message }, 'Redis unreachable: rate limits are not enforced until it is back')
      }
      return
    }
    if (state.isAllowed) return
    reply.header('x-ratelimit-limit', state.max).header('x-ratelimit-remaining', state.remaining).header('x-ratelimit-reset', state.ttlInSeconds)
    if (!state.isExceeded) return
    const wait = Math.max(1, state.ttlInSeconds)
    const who = request.apiKey ? 'this app from your network' : 'your network'
    throw new HttpError(429, `Too many ${WORDS[group]} from ${who}: at most ${state.max} a minute. Try again in ${seconds(wait)}.`, { 'retry-after': String(wait) })
  })
}, { name: 'rate-limits', dependencies: ['config', 'api-auth'] })
