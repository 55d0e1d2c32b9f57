import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { isValidDropboxSignature } from '../../core/webhook-signature.ts'

const MAX_NOTIFICATION_BYTES = 64 * 1024

/**
 * Dropbox's webhook (registered in the App Console, see the README), there only while the Dropbox
 * sync is on. GET is Dropbox's verification: the `challenge` echoed back. POST is a change
 * notification: it says only that something changed, so it is checked (signed with the app
 * secret) and turned into a queued sync; the answer does not wait for the sync (Dropbox wants one
 * within 10 seconds). Not part of the public API: hidden from the OpenAPI document.
 */
const dropboxWebhookRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const appSecret = fastify.config.dropbox!.appSecret
  // The signature covers the raw bytes: in this scope every body is read as a Buffer, never parsed.
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_NOTIFICATION_BYTES }, (_request, body, done) => { done(null, body) })

  fastify.get('/webhooks/dropbox', {
    schema: { hide: true, querystring: Type.Object({ challenge: Type.String({ minLength: 1, maxLength: 1024 }) }) }
  }, async (request, reply) => {
    // Echoed as plain text that no browser may sniff into anything else.
    return reply.type('text/plain; charset=utf-8').header('x-content-type-options', 'nosniff').send(request.query.challenge)
  })

  fastify.post('/webhooks/dropbox', { schema: { hide: true } }, async (request, reply) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
    if (!isValidDropboxSignature(body, request.headers['x-dropbox-signature'], appSecret)) {
      request.log.warn('dropbox webhook with a missing or wrong signature refused')
      return reply.code(403).send({ message: 'Missing or invalid X-Dropbox-Signature.' })
    }
    await fastify.dropboxSync.request('webhook')
    return reply.code(200).send({ message: 'Sync queued.' })
  })
}

export default dropboxWebhookRoutes
