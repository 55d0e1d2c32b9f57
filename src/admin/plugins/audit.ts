import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { auditEventModel } from '../../models/audit-event.ts'
import { AuditLog } from '../audit/audit-log.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The panel's audit trail (models/audit-event.ts), shown on /admin/audit. */
    adminAudit: AuditLog
  }
}

/** Records what the operator of this request did; `target` is what it was done to. */
export async function audit (request: FastifyRequest, action: string, target: string, details?: Record<string, unknown>): Promise<void> {
  const actor = request.adminSession?.username ?? '(anonymous)'
  await request.server.adminAudit.record({ actor, action, target, details })
}

export default fp(async (fastify) => {
  const events = auditEventModel(fastify.db.connection)
  await events.createIndexes()
  fastify.decorate('adminAudit', new AuditLog(events, (err, event) => {
    fastify.log.error({ err, event }, 'could not write an admin audit event')
  }))
}, { name: 'admin-audit', dependencies: ['database'] })
