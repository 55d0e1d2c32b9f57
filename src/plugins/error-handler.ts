import type { FastifyError } from 'fastify'
import fp from 'fastify-plugin'
import { ClientError } from '../errors.ts'
import { isDatabaseUnavailable } from '../models/connect.ts'
import { isRedisUnavailable } from '../queue/redis.ts'

const UNAVAILABLE = 'The service is temporarily unavailable. Please retry shortly.'

// One error policy for the whole app: every error answers `{ "message": ... }`. Client errors
// keep their status and message; dependencies that are down become 503; anything else is logged
// with the request id and answered as a bare 500.
export default fp(async (fastify) => {
  // A request refused before its body was read (a file too large, not an image) leaves the
  // rest of the body on the socket; reusing the connection would feed it to the next request.
  fastify.addHook('onSend', async (request, reply) => {
    if (!request.raw.complete) reply.header('connection', 'close')
  })

  fastify.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ClientError) {
      return reply.code(error.statusCode).headers(error.headers).send({ message: error.message })
    }
    if (error.validation) {
      return reply.code(400).send({ message: `Invalid request: ${error.message}.` })
    }
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.code(415).send({ message: `Unsupported Content-Type '${request.headers['content-type'] ?? ''}'. Send multipart/form-data to upload, JSON otherwise.` })
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ message: error.message })
    }
    if (isDatabaseUnavailable(error) || isRedisUnavailable(error)) {
      request.log.warn({ err: error }, 'dependency unavailable')
      return reply.code(503).header('retry-after', '5').send({ message: UNAVAILABLE })
    }
    request.log.error({ err: error }, 'unexpected error')
    return reply.code(500).send({ message: 'Internal server error.' })
  })

  fastify.setNotFoundHandler((request, reply) => {
    return reply.code(404).send({ message: `No route for ${request.method} ${request.url.split('?')[0]}.` })
  })
}, { name: 'error-handler' })
