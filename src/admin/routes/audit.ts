import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { HttpError } from '../../core/http-error.ts'
import { AuditCursorError } from '../audit/audit-log.ts'
import { pageContext, sendHtml } from '../plugins/context.ts'
import { auditPage } from '../views/audit.ts'

const CURSOR = '^[A-Za-z0-9_-]{1,200}$'
const AuditQuery = Type.Object({
  actor: Type.Optional(Type.String({ maxLength: 200 })),
  action: Type.Optional(Type.String({ maxLength: 100 })),
  per: Type.Optional(Type.Union([Type.Literal(50), Type.Literal(100), Type.Literal(200)])),
  older: Type.Optional(Type.String({ pattern: CURSOR })),
  newer: Type.Optional(Type.String({ pattern: CURSOR }))
})

/** The audit trail, newest first; every operator may read it (it holds no secrets). */
const auditRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { timeZone } = fastify.config.admin

  fastify.get('/audit', { schema: { hide: true, querystring: AuditQuery } }, async (request, reply) => {
    const { actor, action, older, newer } = request.query
    const filter = { actor: actor || undefined, action: action || undefined, per: request.query.per ?? 50 }
    let page
    try {
      page = await fastify.adminAudit.page({ ...filter, older, newer })
    } catch (err) {
      if (err instanceof AuditCursorError) throw new HttpError(400, err.message)
      throw err
    }
    const first = older === undefined && (newer === undefined || page.newer === undefined)
    return sendHtml(reply, 200, auditPage(await pageContext(request), filter, page, timeZone, first))
  })
}

export default auditRoutes
