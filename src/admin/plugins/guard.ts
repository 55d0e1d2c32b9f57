import { timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { query } from '../views/html.ts'
import { errorPage } from '../views/error.ts'
import { sendHtml } from './context.ts'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * A browser tells where a request comes from (Sec-Fetch-Site, else Origin); a state-changing
 * request from another site is refused whatever it carries. Clients that send neither are not
 * browsers, so they hold no operator's cookie to abuse.
 */
export function isCrossSite (request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site']
  if (site !== undefined) return site !== 'same-origin' && site !== 'none'
  const origin = request.headers.origin
  if (origin === undefined) return false
  return origin !== `${request.protocol}://${request.host}`
}

function sameToken (given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

function refuse (request: FastifyRequest, reply: FastifyReply, status: number, title: string, message: string): FastifyReply {
  if (request.routeOptions.config.adminApi) return reply.code(status).send({ message })
  return sendHtml(reply, status, errorPage({}, status, title, message))
}

/**
 * Nothing under /admin answers without a session except what is marked adminPublic: pages
 * redirect to the login form, APIs and assets answer 401. Every state-changing request must come
 * from this site and, unless its client cannot (Bull Board, login), carry the session's token.
 */
export default fp(async (fastify) => {
  fastify.addHook('onRequest', async (request, reply) => {
    if (!SAFE_METHODS.has(request.method) && isCrossSite(request)) {
      request.log.warn({ origin: request.headers.origin, site: request.headers['sec-fetch-site'] }, 'cross-site admin request refused')
      return refuse(request, reply, 403, 'Cross-site request refused', 'This request came from another site. Use the admin panel’s own pages.')
    }
    const config = request.routeOptions.config
    if (config.adminPublic || request.adminSession) return
    if (config.adminApi) return reply.code(401).send({ message: 'Log in to the admin panel first.' })
    const next = request.method === 'GET' ? request.url : undefined
    return reply.redirect(`/admin/login${query({ next })}`, 303)
  })

  fastify.addHook('preHandler', async (request, reply) => {
    if (SAFE_METHODS.has(request.method) || request.routeOptions.config.csrfExempt) return
    const token = (request.body as { _csrf?: unknown } | undefined)?._csrf
    if (request.adminSession && sameToken(token, request.adminSession.csrfToken)) return
    return refuse(request, reply, 403, 'Form expired', 'This form has expired or did not come from this panel. Go back, reload the page and try again.')
  })
}, { name: 'admin-guard', dependencies: ['admin-sessions'] })
