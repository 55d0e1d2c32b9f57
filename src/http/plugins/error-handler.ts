import type { FastifyError } from 'fastify'
import fp from 'fastify-plugin'
import { answerFor, type ErrorWording } from '../../plugins/error-policy.ts'

const WORDING: ErrorWording = {
  invalid: detail => `Invalid request: ${detail}.`,
  unavailable: 'The service is temporarily unavailable. Please retry shortly.',
  internal: 'Internal server error.'
}

// The API's rendering of the error policy (plugins/error-policy.ts): every error answers
// `{ "message": ... }`; dependencies down are logged as warnings, anything unexpected as errors.
export default fp(async (fastify) => {
  // A request refused before its body was read (a file too large, not an image) leaves the
  // rest of the body on the socket; reusing the connection would feed it to the next request.
  fastify.addHook('onSend', async (request, reply) => {
    if (!request.raw.complete) reply.header('connection', 'close')
  })

  fastify.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      request.failureReason = `Unsupported Content-Type '${request.headers['content-type'] ?? ''}'. Send multipart/form-data to upload, JSON otherwise.`
      return reply.code(415).send({ message: request.failureReason })
    }
    const answer = answerFor(error, WORDING)
    request.failureReason = answer.message
    if (answer.kind === 'unavailable') request.log.warn({ err: error }, 'dependency unavailable')
    if (answer.kind === 'internal') request.log.error({ err: error }, 'unexpected error')
    return reply.code(answer.status).headers(answer.headers).send({ message: answer.message })
  })

  fastify.setNotFoundHandler((request, reply) => {
    return reply.code(404).send({ message: `No route for ${request.method} ${request.url.split('?')[0]}.` })
  })
}, { name: 'error-handler', dependencies: ['request-log'] })
