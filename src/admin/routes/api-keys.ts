import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { HttpError } from '../../core/http-error.ts'
import { audit } from '../plugins/audit.ts'
import { pageContext, sendHtml, sessionOf } from '../plugins/context.ts'
import { apiKeyListPage, revokeConfirmPage, type ApiKeyPageSettings } from '../views/api-keys.ts'

const IdParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-fA-F]{24}$' }) })
const notFound = (): HttpError => new HttpError(404, 'No API key has this id.')

/** The client apps' API keys: listed, and revoked after a confirmation (creating one is the CLI's job: the key is shown once, in a terminal). */
const apiKeyRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { admin, apiAuth } = fastify.config
  const settings: ApiKeyPageSettings = { timeZone: admin.timeZone, required: apiAuth.required, cacheSeconds: apiAuth.keyCacheSeconds }

  fastify.get('/api-keys', { schema: { hide: true } }, async (request, reply) => {
    return sendHtml(reply, 200, apiKeyListPage(await pageContext(request), await fastify.apiKeys.list(), settings))
  })

  fastify.get('/api-keys/:id/revoke', { schema: { hide: true, params: IdParams } }, async (request, reply) => {
    const key = await fastify.apiKeys.findById(request.params.id)
    if (!key) throw notFound()
    if (key.revokedAt) return reply.redirect('/admin/api-keys', 303)
    return sendHtml(reply, 200, revokeConfirmPage(await pageContext(request), key, settings))
  })

  fastify.post('/api-keys/:id/revoke', {
    schema: { hide: true, params: IdParams, body: Type.Object({ _csrf: Type.Optional(Type.String()) }) }
  }, async (request, reply) => {
    const session = sessionOf(request)
    const revoked = await fastify.apiKeys.revokeById(request.params.id)
    if (!revoked) throw notFound()
    const { name } = revoked.summary
    if (!revoked.alreadyRevoked) {
      request.log.info({ admin: session.username, apiKey: name }, 'admin revoked an API key')
      await audit(request, 'api-key.revoke', name, { summary: `Revoked the API key '${name}'.` })
    }
    await fastify.admin.sessions.flash(session, {
      kind: 'success',
      text: revoked.alreadyRevoked ? `The API key '${name}' was already revoked.` : `Revoked the API key '${name}'.`
    })
    return reply.redirect('/admin/api-keys', 303)
  })
}

export default apiKeyRoutes
