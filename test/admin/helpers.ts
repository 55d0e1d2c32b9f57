import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { AdminAccounts } from '../../src/admin/auth/accounts.ts'
import { adminUserModel } from '../../src/models/admin-user.ts'
import { build } from '../helpers/build.ts'
import { testEnv, type TestEnv } from '../helpers/config.ts'

interface Teardown {
  teardown: (fn: () => unknown) => void
}

export const PASSWORD = 'correct horse battery staple'

/** The app with a fresh database and queue prefix, and one admin account ("alice"). */
export async function adminApp (t: Teardown, overrides: Record<string, string> = {}): Promise<TestEnv & { app: FastifyInstance }> {
  const env = await testEnv(t, overrides)
  const app = await build(t, env.config)
  await accountsOf(app).create('alice', PASSWORD)
  return { ...env, app }
}

/** The admin accounts (the panel keeps its own handle inside its scope). */
export function accountsOf (app: FastifyInstance): AdminAccounts {
  return new AdminAccounts(adminUserModel(app.db.connection))
}

/** An urlencoded form body, as a browser posts it (repeated keys for lists). */
export function form (fields: Record<string, string | string[] | undefined>): Pick<InjectOptions, 'payload' | 'headers'> {
  const body = new URLSearchParams()
  for (const [k, v] of Object.entries(fields)) {
    for (const item of Array.isArray(v) ? v : v === undefined ? [] : [v]) body.append(k, item)
  }
  return { payload: body.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } }
}

export function sessionCookie (res: LightMyRequestResponse): string | undefined {
  return res.cookies.find(c => c.name === 'admin_session')?.value
}

export interface Operator {
  cookies: { admin_session: string }
  csrf: string
  /** inject() with the session cookie. */
  request: (options: InjectOptions) => Promise<LightMyRequestResponse>
  /** A form post with the session's token added. */
  post: (url: string, fields?: Record<string, string | string[] | undefined>) => Promise<LightMyRequestResponse>
}

export function csrfTokenIn (html: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1]
  if (!token) throw new Error('no CSRF token in the page')
  return token
}

let addresses = 0

/** A new client address: tests log in more often than the per-address limit allows one. */
export function nextAddress (): string {
  addresses++
  return `10.200.${Math.floor(addresses / 250)}.${1 + (addresses % 250)}`
}

export async function login (app: FastifyInstance, username = 'alice', password = PASSWORD): Promise<Operator> {
  const res = await app.inject({ method: 'POST', url: '/admin/login', remoteAddress: nextAddress(), ...form({ username, password }) })
  if (res.statusCode !== 303) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
  const cookies = { admin_session: sessionCookie(res)! }
  const page = await app.inject({ method: 'GET', url: '/admin/images', cookies })
  const csrf = csrfTokenIn(page.body)
  const request = (options: InjectOptions) => app.inject({ ...options, cookies: { ...cookies, ...options.cookies } })
  return {
    cookies,
    csrf,
    request,
    post: (url, fields = {}) => request({ method: 'POST', url, ...form({ _csrf: csrf, ...fields }) })
  }
}

/** An Image document as the worker writes it. */
export function imageRecord (phone: string, name: string, uploadedAt: Date | string, extra: Record<string, unknown> = {}) {
  return {
    phone_number: phone,
    file_name: name,
    image_url: `http://localhost:3000/files/${phone}/${encodeURIComponent(name)}`,
    uploaded_at: new Date(uploadedAt),
    storage: 'local',
    storage_path: `/${phone}/${name}`,
    size: 10,
    content_type: 'image/png',
    content_hash: 'h',
    ...extra
  }
}
