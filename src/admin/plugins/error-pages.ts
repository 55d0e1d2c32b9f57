import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { answerFor, type ErrorWording } from '../../plugins/error-policy.ts'
import { errorPage } from '../views/error.ts'
import { pageContext, sendHtml } from './context.ts'

const TITLES: Record<number, string> = {
  400: 'Bad request', 401: 'Not logged in', 403: 'Forbidden', 404: 'Not found', 413: 'Too large', 415: 'Unsupported', 429: 'Too many requests', 503: 'Service unavailable'
}

async function respond (request: FastifyRequest, reply: FastifyReply, status: number, message: string): Promise<FastifyReply> {
  if (request.routeOptions.config.adminApi) return reply.code(status).send({ message })
  // The page's own header needs the session; when the failure is Redis, show it without.
  const ctx = status === 503 ? {} : await pageContext(request).catch(() => ({}))
  return sendHtml(reply, status, errorPage(ctx, status, TITLES[status] ?? 'Error', message))
}

const WORDING: ErrorWording = {
  invalid: detail => `The request was not understood: ${detail}.`,
  unavailable: 'A database the panel needs is unreachable. Try again shortly.',
  internal: 'Something went wrong on our side; it has been logged.'
}

// The admin's rendering of the error policy (plugins/error-policy.ts): operators in a browser
// get pages, the dashboard's API gets JSON.
export default fp(async (fastify) => {
  fastify.setErrorHandler(async (error: FastifyError, request, reply) => {
    const answer = answerFor(error, WORDING)
    if (answer.kind === 'unavailable') request.log.warn({ err: error }, 'admin dependency unavailable')
    if (answer.kind === 'internal') request.log.error({ err: error }, 'unexpected admin error')
    reply.headers(answer.headers)
    return respond(request, reply, answer.status, answer.message)
  })

  fastify.setNotFoundHandler(async (request, reply) => {
    return respond(request, reply, 404, `There is no admin page at ${request.url.split('?')[0]}.`)
  })
}, { name: 'admin-error-pages' })
