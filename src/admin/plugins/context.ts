import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AdminSession } from '../auth/session-store.ts'
import type { Html } from '../views/html.ts'
import type { PageContext } from '../views/layout.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Reachable without a session: the login form and the stylesheet. */
    adminPublic?: boolean
    /** JSON or an asset: an anonymous request gets 401 instead of a redirect to the login page. */
    adminApi?: boolean
    /** A state-changing route whose client cannot send the form token (Bull Board, login). */
    csrfExempt?: boolean
  }
}

export const SESSION_COOKIE = 'admin_session'

/** The session cookie's attributes, for setting and clearing it alike. */
export function sessionCookieOptions (secure: boolean) {
  return { path: '/admin', httpOnly: true, sameSite: 'strict', secure } as const
}

export function sendHtml (reply: FastifyReply, status: number, page: Html): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(page.text)
}

/** What every logged-in page shows: who is logged in, the form token and waiting messages. */
export async function pageContext (request: FastifyRequest): Promise<PageContext> {
  const session = request.adminSession
  if (!session) return {}
  const flashes = await request.server.admin.sessions.takeFlashes(session)
  return { username: session.username, csrfToken: session.csrfToken, flashes, superuser: request.adminAccount?.superuser === true }
}

/** The current session; the guard has already turned anonymous requests away. */
export function sessionOf (request: FastifyRequest): AdminSession {
  if (!request.adminSession) throw new Error('admin route reached without a session')
  return request.adminSession
}
