import rateLimit from '@fastify/rate-limit'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { HttpError } from '../../core/http-error.ts'
import { FailedLogins } from '../auth/failed-logins.ts'
import { normalizeUsername } from '../../core/admin-account-rules.ts'
import { audit } from '../plugins/audit.ts'
import { SESSION_COOKIE, pageContext, sendHtml, sessionCookieOptions, sessionOf } from '../plugins/context.ts'
import { loginPage, logoutPage } from '../views/login.ts'

const FAILURES_PER_ACCOUNT = 10
const FAILURE_WINDOW_MS = 15 * 60 * 1000

/** Where to go after logging in: only a page of this panel, never another site. */
export function safeNext (next: string | undefined): string {
  if (!next || !next.startsWith('/admin') || next.startsWith('//') || next.includes('\\')) return '/admin/images'
  const url = new URL(next, 'http://panel.invalid')
  if (url.origin !== 'http://panel.invalid' || !/^\/admin(\/|$)/.test(url.pathname) || /^\/admin\/(login|logout)/.test(url.pathname)) return '/admin/images'
  return url.pathname + url.search
}

const minutes = (seconds: number): string => seconds < 90 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`

const loginRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { admin, queuePrefix } = fastify.config
  const cookieOptions = sessionCookieOptions(admin.cookieSecure)
  const failed = new FailedLogins(fastify.admin.redis, queuePrefix, FAILURES_PER_ACCOUNT, FAILURE_WINDOW_MS)

  // Counted in Redis, so the limit holds across every API process.
  await fastify.register(rateLimit, {
    global: false,
    redis: fastify.admin.redis,
    nameSpace: `${queuePrefix}:admin:login-rate:`,
    // Without Redis nobody can log in anyway; refuse rather than count nothing.
    skipOnError: false
  })

  fastify.get('/', { schema: { hide: true } }, (_request, reply) => reply.redirect('/admin/images', 303))

  fastify.get('/login', {
    schema: { hide: true, querystring: Type.Object({ next: Type.Optional(Type.String({ maxLength: 2000 })), logged_out: Type.Optional(Type.String()) }) },
    config: { adminPublic: true }
  }, async (request, reply) => {
    if (request.adminSession) return reply.redirect(safeNext(request.query.next), 303)
    const notice = request.query.logged_out !== undefined ? 'You have been logged out.' : undefined
    return sendHtml(reply, 200, loginPage({ next: request.query.next, notice }))
  })

  fastify.post('/login', {
    schema: {
      hide: true,
      body: Type.Object({
        username: Type.String({ maxLength: 200 }),
        password: Type.String({ maxLength: 1024 }),
        next: Type.Optional(Type.String({ maxLength: 2000 }))
      })
    },
    config: {
      adminPublic: true,
      csrfExempt: true,
      rateLimit: {
        max: admin.loginAttemptsPerMinute,
        timeWindow: 60_000,
        hook: 'onRequest',
        keyGenerator: request => `ip:${request.ip}`,
        errorResponseBuilder: (_request, context) => new HttpError(429, `Too many login attempts from your address. Try again in ${context.after}.`)
      }
    }
  }, async (request, reply) => {
    const { password, next } = request.body
    const username = normalizeUsername(request.body.username)
    const account = username ?? '(invalid)'
    const wait = await failed.retryAfter(account)
    if (wait > 0) {
      reply.header('retry-after', String(wait))
      throw new HttpError(429, `Too many failed logins for this account. Try again in ${minutes(wait)}.`)
    }

    const identity = await fastify.admin.accounts.authenticate(request.body.username, password)
    if (identity === 'disabled') {
      // Said only to someone who knows the password; a wrong password never learns it.
      request.log.warn({ username: account }, 'admin login refused: the account is disabled')
      await fastify.adminAudit.record({ actor: account, action: 'login.refused', target: account, details: { summary: 'Login refused: the account is disabled.', ip: request.ip } })
      return sendHtml(reply.header('cache-control', 'no-store'), 403, loginPage({ next, username: request.body.username, error: 'This account is disabled. A superuser can enable it on the Accounts page.' }))
    }
    if (!identity) {
      await failed.record(account)
      request.log.warn({ username: account }, 'admin login failed')
      return sendHtml(reply.header('cache-control', 'no-store'), 401, loginPage({ next, username: request.body.username, error: 'Please enter a correct username and password.' }))
    }

    await failed.clear(account)
    // A new session id at every login: one planted before it (fixation) is worth nothing.
    if (request.adminSession) await fastify.admin.sessions.destroy(request.adminSession.sid)
    const session = await fastify.admin.sessions.create(identity)
    request.log.info({ username: identity.username }, 'admin logged in')
    await fastify.adminAudit.record({ actor: identity.username, action: 'login', target: identity.username, details: { ip: request.ip } })
    return reply.setCookie(SESSION_COOKIE, session.sid, cookieOptions).redirect(safeNext(next), 303)
  })

  // Bull Board's header can only link (GET); logging out stays a POST with the form token, so a
  // link, an image or a prefetch can never log anyone out. This page asks for it.
  fastify.get('/logout', { schema: { hide: true } }, async (request, reply) => {
    return sendHtml(reply, 200, logoutPage(await pageContext(request)))
  })

  fastify.post('/logout', { schema: { hide: true } }, async (request, reply) => {
    const session = sessionOf(request)
    await fastify.admin.sessions.destroy(session.sid)
    request.log.info({ username: session.username }, 'admin logged out')
    await audit(request, 'logout', session.username)
    return reply.clearCookie(SESSION_COOKIE, cookieOptions).redirect('/admin/login?logged_out=1', 303)
  })
}

export default loginRoutes
