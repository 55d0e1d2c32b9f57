import cookie from '@fastify/cookie'
import fp from 'fastify-plugin'
import { adminUserModel } from '../../models/admin-user.ts'
import { AccountError, AdminAccounts, type AccountState } from '../auth/accounts.ts'
import type { Redis } from 'ioredis'
import { connected, producerConnection } from '../../queue/redis.ts'
import { SessionStore, type AdminSession } from '../auth/session-store.ts'
import { SESSION_COOKIE } from './context.ts'

declare module 'fastify' {
  interface FastifyInstance {
    admin: {
      sessions: SessionStore
      accounts: AdminAccounts
      /** The admin's own connection (sessions, login limits); fails fast like the producer's. */
      redis: Redis
    }
  }
  interface FastifyRequest {
    adminSession: AdminSession | null
    /** What the session's account may do, read from the account on this request. */
    adminAccount: AccountState | null
  }
}

/** Loads the session named by the cookie, if any; the guard decides what anonymous requests get. */
export default fp(async (fastify) => {
  const { queuePrefix, admin, redisUrl } = fastify.config
  // Fail-fast, like the producer's: with Redis away, admin requests answer 503 at once.
  const redis = producerConnection(redisUrl, 'admin', err => { fastify.log.warn({ err: err.message }, 'admin redis connection error') })
  fastify.addHook('onClose', async () => { redis.disconnect() })
  await connected(redis)

  const users = adminUserModel(fastify.db.connection)
  await users.createIndexes()
  const accounts = new AdminAccounts(users)
  const sessions = new SessionStore(redis, queuePrefix, admin.sessionTtlSeconds, admin.sessionMaxAgeSeconds)
  fastify.decorate('admin', { sessions, accounts, redis })

  if (admin.bootstrap && !await accounts.any()) {
    try {
      await accounts.create(admin.bootstrap.username, admin.bootstrap.password)
      fastify.log.info({ username: admin.bootstrap.username }, 'admin account created from ADMIN_BOOTSTRAP_USERNAME')
    } catch (err) {
      // Another API process starting at the same moment created it first.
      if (!(err instanceof AccountError)) throw err
    }
  } else if (!admin.bootstrap && !await accounts.any()) {
    fastify.log.warn('the admin panel has no account yet: create one with `npm run create-admin -- --username NAME`')
  }

  await fastify.register(cookie)
  fastify.decorateRequest('adminSession', null)
  fastify.decorateRequest('adminAccount', null)
  fastify.addHook('onRequest', async (request) => {
    const sid = request.cookies[SESSION_COOKIE]
    if (!sid) return
    const session = await sessions.get(sid)
    if (!session) return
    // A deleted or disabled account or a changed password ends the session on its next request.
    const state = await accounts.current(session)
    if (state) {
      request.adminSession = session
      request.adminAccount = state
    } else {
      await sessions.destroy(sid)
    }
  })
}, { name: 'admin-sessions', dependencies: ['config', 'database'] })
