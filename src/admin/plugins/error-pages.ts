import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ClientError } from '../../errors.ts'
import { isDatabaseUnavailable } from '../../models/connect.ts'
import { isRedisUnavailable } from '../../queue/redis.ts'
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

// The root error handler answers JSON; operators in a browser get pages. Same policy otherwise:
// client errors keep their message, dependencies down become 503, the rest is logged as 500.
export default fp(async (fastify) => {
  fastify.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (error instanceof ClientError) {
      reply.headers(error.headers)
      return respond(request, reply, error.statusCode, error.message)
    }
    if (error.validation) return respond(request, reply, 400, `The request was not understood: ${error.message}.`)
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) return respond(request, reply, error.statusCode, error.message)
    if (isDatabaseUnavailable(error) || isRedisUnavailable(error)) {
      request.log.warn({ err: error }, 'admin dependency unavailable')
      reply.header('retry-after', '5')
      return respond(request, reply, 503, 'A database the panel needs is unreachable. Try again shortly.')
    }
    request.log.error({ err: error }, 'unexpected admin error')
    return respond(request, reply, 500, 'Something went wrong on our side; it has been logged.')
  })

  fastify.setNotFoundHandler(async (request, reply) => {
    return respond(request, reply, 404, `There is no admin page at ${request.url.split('?')[0]}.`)
  })
}, { name: 'admin-error-pages' })
