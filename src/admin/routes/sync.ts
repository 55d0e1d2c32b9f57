import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { HttpError } from '../../core/http-error.ts'
import { pageContext, sendHtml, sessionOf } from '../plugins/context.ts'
import { audit } from '../plugins/audit.ts'
import { syncPage } from '../views/sync.ts'

const SyncForm = Type.Object({ _csrf: Type.Optional(Type.String()) })

/** The Dropbox sync's page: its last run, and "sync now". */
const syncRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { timeZone } = fastify.config.admin
  const sync = fastify.dropboxSync

  fastify.get('/sync', { schema: { hide: true } }, async (request, reply) => {
    const status = await sync.status()
    return sendHtml(reply, 200, syncPage(await pageContext(request), { enabled: sync.enabled, intervalMs: sync.intervalMs, status }, timeZone))
  })

  fastify.post('/sync', { schema: { hide: true, body: SyncForm } }, async (request, reply) => {
    const session = sessionOf(request)
    if (!sync.enabled) throw new HttpError(409, 'The Dropbox sync is off: storage is not Dropbox, or DROPBOX_SYNC_INTERVAL_MS is 0.')
    await sync.request('admin', session.username)
    await audit(request, 'dropbox.sync-requested', 'dropbox', { summary: 'Asked for a Dropbox sync now' })
    await fastify.admin.sessions.flash(session, { kind: 'success', text: 'Sync queued: a worker runs it now. Reload this page to see its outcome.' })
    return reply.redirect('/admin/sync', 303)
  })
}

export default syncRoutes
