import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { ADMIN_PASSWORD_MAX_LENGTH, normalizeUsername, passwordProblem } from '../../core/admin-account-rules.ts'
import { HttpError } from '../../core/http-error.ts'
import { AccountError, type AccountSummary } from '../auth/accounts.ts'
import { audit } from '../plugins/audit.ts'
import { SESSION_COOKIE, pageContext, sendHtml, sessionCookieOptions, sessionOf } from '../plugins/context.ts'
import { accountListPage, accountPage, EMPTY_NEW_ACCOUNT } from '../views/accounts.ts'

const IdParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-fA-F]{24}$' }) })
const Password = Type.String({ maxLength: ADMIN_PASSWORD_MAX_LENGTH })
const NewAccount = Type.Object({
  _csrf: Type.Optional(Type.String()),
  username: Type.String({ maxLength: 200 }),
  password: Password,
  password2: Password,
  superuser: Type.Optional(Type.Literal('on'))
})
const NewPassword = Type.Object({ _csrf: Type.Optional(Type.String()), password: Password, password2: Password })

/** Why a new password is refused, by field; empty when it is fine. */
function passwordErrors (password: string, again: string): { password?: string, password2?: string } {
  const problem = passwordProblem(password)
  if (problem) return { password: problem }
  if (password !== again) return { password2: 'The two passwords differ.' }
  return {}
}

/**
 * Admin accounts, as Django's admin manages users: a superuser adds accounts, disables and enables
 * them and sets new passwords. Everyone else gets 403 here, and no link to it.
 */
const accountRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { timeZone, cookieSecure } = fastify.config.admin
  const accounts = fastify.admin.accounts

  // After the panel's own hooks (session, login guard): only superusers go further.
  fastify.addHook('onRequest', async (request) => {
    if (request.adminAccount?.superuser !== true) {
      request.log.warn({ admin: request.adminSession?.username, url: request.url }, 'admin accounts page refused: not a superuser')
      throw new HttpError(403, 'Only a superuser can manage admin accounts.')
    }
  })

  const find = async (id: string): Promise<AccountSummary> => {
    const account = await accounts.byId(id)
    if (!account) throw new HttpError(404, 'There is no such admin account.')
    return account
  }

  fastify.get('/accounts', { schema: { hide: true } }, async (request, reply) => {
    return sendHtml(reply, 200, accountListPage(await pageContext(request), await accounts.list(), EMPTY_NEW_ACCOUNT, timeZone))
  })

  fastify.post('/accounts', { schema: { hide: true, body: NewAccount } }, async (request, reply) => {
    const session = sessionOf(request)
    const { username: raw, password, password2 } = request.body
    const superuser = request.body.superuser === 'on'
    const username = normalizeUsername(raw)
    const errors: Record<string, string> = { ...passwordErrors(password, password2) }
    if (username === undefined) errors.username = 'A username is 1 to 150 letters, digits and @ . + - _ characters.'
    if (username !== undefined && Object.keys(errors).length === 0) {
      try {
        const created = await accounts.create(username, password, { superuser, createdBy: session.username })
        request.log.info({ admin: session.username, username, superuser }, 'admin account created')
        await audit(request, 'account.create', username, { summary: `Created ${superuser ? 'superuser' : 'operator'} account '${username}'.`, superuser })
        await fastify.admin.sessions.flash(session, { kind: 'success', text: `Created the account '${username}'. It can log in now.` })
        return reply.redirect(`/admin/accounts/${created.id}`, 303)
      } catch (err) {
        if (!(err instanceof AccountError)) throw err
        errors.username = err.message
      }
    }
    const form = { values: { username: raw, superuser }, errors }
    return sendHtml(reply, 400, accountListPage(await pageContext(request), await accounts.list(), form, timeZone))
  })

  fastify.get('/accounts/:id', { schema: { hide: true, params: IdParams } }, async (request, reply) => {
    return sendHtml(reply, 200, accountPage(await pageContext(request), await find(request.params.id), {}, timeZone))
  })

  const setDisabled = (disabled: boolean) => async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply): Promise<FastifyReply> => {
    const session = sessionOf(request)
    const account = await find(request.params.id)
    if (disabled && account.id === session.id) {
      // There is always at least one superuser who can log in: the one acting here.
      return sendHtml(reply, 400, accountPage(await pageContext(request), account, { status: 'You cannot disable your own account.' }, timeZone))
    }
    await accounts.setDisabled(account.id, disabled)
    const verb = disabled ? 'Disabled' : 'Enabled'
    request.log.info({ admin: session.username, username: account.username, disabled }, `admin account ${disabled ? 'disabled' : 'enabled'}`)
    await audit(request, disabled ? 'account.disable' : 'account.enable', account.username, {
      summary: disabled ? `Disabled '${account.username}'; its sessions ended.` : `Enabled '${account.username}'.`
    })
    await fastify.admin.sessions.flash(session, {
      kind: 'success',
      text: disabled ? `${verb} '${account.username}': it cannot log in, and its sessions have ended.` : `${verb} '${account.username}': it can log in again.`
    })
    return reply.redirect(`/admin/accounts/${account.id}`, 303)
  }
  fastify.post('/accounts/:id/disable', { schema: { hide: true, params: IdParams } }, setDisabled(true))
  fastify.post('/accounts/:id/enable', { schema: { hide: true, params: IdParams } }, setDisabled(false))

  fastify.post('/accounts/:id/password', { schema: { hide: true, params: IdParams, body: NewPassword } }, async (request, reply) => {
    let session = sessionOf(request)
    const account = await find(request.params.id)
    const errors = passwordErrors(request.body.password, request.body.password2)
    if (Object.keys(errors).length > 0) {
      return sendHtml(reply, 400, accountPage(await pageContext(request), account, errors, timeZone))
    }
    const changedAt = await accounts.resetPassword(account.id, request.body.password)
    request.log.info({ admin: session.username, username: account.username }, 'admin account password set')
    await audit(request, 'account.password', account.username, { summary: `Set a new password for '${account.username}'; its sessions ended.` })
    if (account.id === session.id) {
      // As Django's update_session_auth_hash: a new password ends the other sessions, not this one.
      await fastify.admin.sessions.destroy(session.sid)
      session = await fastify.admin.sessions.create({ id: session.id, username: session.username, passwordChangedAt: changedAt })
      reply.setCookie(SESSION_COOKIE, session.sid, sessionCookieOptions(cookieSecure))
    }
    await fastify.admin.sessions.flash(session, { kind: 'success', text: `Set a new password for '${account.username}'.` })
    return reply.redirect(`/admin/accounts/${account.id}`, 303)
  })
}

export default accountRoutes
