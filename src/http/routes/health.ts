import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { LogLevel } from 'fastify'
import { ReplyError } from 'ioredis'
import { Type } from 'typebox'
import { StoragePermanentError } from '../../storage/errors.ts'

const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  redis: Type.Boolean(),
  mongodb: Type.Boolean(),
  storage: Type.String()
})

const Liveness = Type.Object({
  status: Type.Literal('ok'),
  uptime_seconds: Type.Number({ description: 'Seconds since the process started.' })
}, { $id: 'Liveness', title: 'Liveness' })

const CheckResult = Type.Union(['ok', 'unreachable', 'refused', 'not_writable', 'timeout'].map(v => Type.Literal(v)), {
  description: 'ok; unreachable (no answer, or a network error); refused (it answered but refused our credentials or request); not_writable (a directory); timeout (no answer within 2 s).'
})
const DEPENDENCIES = ['redis', 'mongodb', 'storage', 'staging'] as const
type Dependency = typeof DEPENDENCIES[number]
type Check = 'ok' | 'unreachable' | 'refused' | 'not_writable' | 'timeout'

const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  checks: Type.Object({ redis: CheckResult, mongodb: CheckResult, storage: CheckResult, staging: CheckResult }),
  failed: Type.Array(Type.Union(DEPENDENCIES.map(d => Type.Literal(d))), { description: 'The dependencies that are not ok.' }),
  message: Type.Optional(Type.String())
}, { $id: 'Readiness', title: 'Readiness' })

const CHECK_TIMEOUT_MS = 2000
// Dropbox is asked at most this often per API process, whatever the probes' rate.
const DROPBOX_CHECK_TTL_MS = 10_000

class CheckTimeout extends Error {}

const LEVELS: LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']
/**
 * Probes and scrapes come every few seconds: their request line is not logged at info, only
 * their warnings, unless LOG_LEVEL is quieter still.
 */
export function quietLogLevel (logLevel: string): LogLevel {
  const level = LEVELS.find(l => l === logLevel) ?? 'info'
  return LEVELS.indexOf(level) > LEVELS.indexOf('warn') ? level : 'warn'
}

async function outcome (check: () => Promise<unknown>, refused: (err: unknown) => boolean, failed: Check = 'unreachable'): Promise<Check> {
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([check(), new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new CheckTimeout()), CHECK_TIMEOUT_MS) })])
    return 'ok'
  } catch (err) {
    if (err instanceof CheckTimeout) return 'timeout'
    return refused(err) ? 'refused' : failed
  } finally {
    clearTimeout(timer)
  }
}

// For load balancers, container health checks and orchestrators' probes (README, "Operations").
const healthRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const probeLogLevel = quietLogLevel(fastify.config.logLevel)
  // 200 when Redis and MongoDB answer, else 503: the original readiness check, kept as it is.
  fastify.get('/health', {
    schema: {
      operationId: 'getHealth',
      summary: 'Readiness of the API and its dependencies',
      description: '200 when Redis and MongoDB answer, else 503 (the body says which is down). For load balancers and container health checks.',
      tags: ['operations'],
      response: {
        200: {
          description: 'Redis and MongoDB answer.',
          content: { 'application/json': { schema: Health, example: { status: 'ok' as const, redis: true, mongodb: true, storage: 'dropbox' } } }
        },
        503: {
          description: 'Redis or MongoDB does not answer.',
          content: { 'application/json': { schema: Health, example: { status: 'degraded' as const, redis: false, mongodb: true, storage: 'dropbox' } } }
        }
      }
    },
    logLevel: 'warn'
  }, async (_request, reply) => {
    const [redis, mongodb] = await Promise.all([
      fastify.uploadQueue.redis.ping().then(() => true, () => false),
      fastify.db.connection.db?.admin().ping().then(() => true, () => false) ?? false
    ])
    const ok = redis && mongodb
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', redis, mongodb, storage: fastify.storage.kind })
  })

  // Liveness: the process runs and its event loop turns. No dependency is asked (a database
  // down must not get the API restarted), and load shedding never answers it.
  fastify.get('/health/live', {
    schema: {
      operationId: 'getLiveness',
      summary: 'Liveness of the API process',
      description: '200 while the process runs and answers; checks no dependency. For liveness probes: restart the process when it fails.',
      tags: ['operations'],
      response: {
        200: {
          description: 'The process is up.',
          content: { 'application/json': { schema: Liveness, example: { status: 'ok' as const, uptime_seconds: 3600.5 } } }
        }
      }
    },
    logLevel: probeLogLevel
  }, async () => ({ status: 'ok' as const, uptime_seconds: Math.round(process.uptime() * 10) / 10 }))

  const { storage } = fastify
  let storageChecked: { at: number, result: Promise<Check> } | undefined
  const checkStorage = (): Promise<Check> => {
    const fresh = storage.kind === 'dropbox' && storageChecked !== undefined && Date.now() - storageChecked.at < DROPBOX_CHECK_TTL_MS
    if (!fresh) {
      const refused = (err: unknown): boolean => err instanceof StoragePermanentError
      storageChecked = { at: Date.now(), result: outcome(async () => { await storage.checkReady?.() }, refused, storage.kind === 'local' ? 'not_writable' : 'unreachable') }
    }
    return storageChecked!.result
  }
  const checks: Record<Dependency, () => Promise<Check>> = {
    // The producer's connection: it refuses at once while Redis is down.
    redis: () => outcome(() => fastify.uploadQueue.redis.ping(), err => err instanceof ReplyError),
    // A read, not a ping: a ping needs no credentials, a read of our collection does.
    mongodb: () => outcome(async () => {
      const db = fastify.db.connection.db
      if (!db) throw new Error('not connected')
      await db.collection('images').findOne({}, { projection: { _id: 1 } })
    }, err => (err as Error).name === 'MongoServerError'),
    storage: checkStorage,
    staging: () => outcome(() => fastify.staging.check(), () => false, fastify.staging.kind === 'directory' ? 'not_writable' : 'unreachable')
  }

  // Readiness: this process can take uploads now. Redis, MongoDB and storage answer and accept
  // our credentials, and the staging area is writable; an overloaded process answers 503 too.
  fastify.get('/health/ready', {
    schema: {
      operationId: 'getReadiness',
      summary: 'Readiness of the API to take traffic',
      description: '200 when Redis, MongoDB and storage answer and accept the service\'s credentials (Dropbox: an authenticated call, ' +
        'cached for 10 s; local storage: its directory is writable) and the staging area is usable (its directory writable; STAGING=s3: the bucket answers and the scratch directory is writable); ' +
        'else 503 naming what failed. ' +
        'Also 503 (with Retry-After) while the process is overloaded. For readiness probes and load balancers.',
      tags: ['operations'],
      response: {
        200: {
          description: 'Ready.',
          content: { 'application/json': { schema: Readiness, example: { status: 'ready' as const, checks: { redis: 'ok' as const, mongodb: 'ok' as const, storage: 'ok' as const, staging: 'ok' as const }, failed: [] } } }
        },
        503: {
          description: 'A dependency is unreachable or refuses the service, or the process is overloaded.',
          content: {
            'application/json': {
              schema: Type.Union([Readiness, Type.Object({ message: Type.String() })]),
              example: { status: 'not_ready' as const, checks: { redis: 'unreachable' as const, mongodb: 'ok' as const, storage: 'ok' as const, staging: 'ok' as const }, failed: ['redis' as const], message: 'Not ready: redis unreachable.' }
            }
          }
        }
      }
    },
    logLevel: probeLogLevel
  }, async (request, reply) => {
    const results = await Promise.all(DEPENDENCIES.map(async name => [name, await checks[name]()] as const))
    const failed = results.filter(([, result]) => result !== 'ok').map(([name]) => name)
    const body = { status: failed.length === 0 ? 'ready' as const : 'not_ready' as const, checks: Object.fromEntries(results) as Record<Dependency, Check>, failed }
    if (failed.length === 0) return reply.code(200).send(body)
    const message = `Not ready: ${results.filter(([, r]) => r !== 'ok').map(([name, r]) => `${name} ${r.replace('_', ' ')}`).join(', ')}.`
    request.failureReason = message
    request.log.warn({ checks: body.checks }, 'not ready')
    return reply.code(503).header('retry-after', '5').send({ ...body, message })
  })
}

export default healthRoutes
