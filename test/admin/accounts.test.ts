import t from 'tap'
import { auditEventModel } from '../../src/models/audit-event.ts'
import { accountsOf, adminApp, csrfTokenIn, form, login, nextAddress, PASSWORD, sessionCookie } from './helpers.ts'

const OTHER = 'another long password'

/** The audit page's rows as "actor action target", newest first. */
function auditRows (html: string): string[] {
  return [...html.matchAll(/<tr>\s*<td class="time">.*?<\/td>\s*<td><a[^>]*>([^<]*)<\/a><\/td>\s*<td><a[^>]*><code>([^<]*)<\/code><\/a><\/td>\s*<td class="target">([^<]*)<\/td>/gs)]
    .map(m => `${m[1]} ${m[2]} ${m[3]}`)
}

t.test('a superuser manages admin accounts; nobody else reaches them', async t => {
  const { app } = await adminApp(t)
  const alice = await login(app)

  const list = await alice.request({ method: 'GET', url: '/admin/accounts' })
  t.equal(list.statusCode, 200)
  t.match(list.body, /<a href="\/admin\/accounts"[^>]*>Accounts<\/a>/, 'a superuser sees the link')
  t.match(list.body, /alice<\/a> \(you\)/)

  // Password rules of core/admin-account-rules.ts, a matching second entry, a valid, new name.
  for (const [fields, message] of [
    [{ username: 'bob', password: 'short', password2: 'short' }, /at least 12 characters/],
    [{ username: 'bob', password: OTHER, password2: `${OTHER}!` }, /The two passwords differ/],
    [{ username: 'bob smith', password: OTHER, password2: OTHER }, /A username is 1 to 150 letters/],
    [{ username: 'Alice', password: OTHER, password2: OTHER }, /An admin account named &#39;alice&#39; already exists/]
  ] as const) {
    const res = await alice.post('/admin/accounts', fields)
    t.equal(res.statusCode, 400, JSON.stringify(fields))
    t.match(res.body, message)
    t.notMatch(res.body, OTHER, 'the password is never sent back')
  }
  t.equal((await alice.request({ method: 'POST', url: '/admin/accounts', ...form({ username: 'bob', password: OTHER, password2: OTHER }) })).statusCode, 403, 'the form token is required')

  const created = await alice.post('/admin/accounts', { username: 'Bob', password: OTHER, password2: OTHER })
  t.equal(created.statusCode, 303)
  const bobUrl = created.headers.location as string
  t.match(bobUrl, /^\/admin\/accounts\/[0-9a-f]{24}$/)
  const bobPage = await alice.request({ method: 'GET', url: bobUrl })
  t.match(bobPage.body, /Created the account &#39;bob&#39;/)
  t.match(bobPage.body, /<dt>Role<\/dt><dd>Operator<\/dd>/, 'not a superuser unless ticked')

  // An operator: no link, and 403 on every accounts page and action.
  const bob = await login(app, 'bob', OTHER)
  const images = await bob.request({ method: 'GET', url: '/admin/images' })
  t.notMatch(images.body, /href="\/admin\/accounts"/)
  t.match(images.body, /href="\/admin\/audit"/)
  const aliceId = (await accountsOf(app).list()).find(a => a.username === 'alice')!.id
  for (const [method, url] of [['GET', '/admin/accounts'], ['GET', `/admin/accounts/${aliceId}`], ['POST', '/admin/accounts'], ['POST', `/admin/accounts/${aliceId}/disable`], ['POST', `/admin/accounts/${aliceId}/password`]] as const) {
    const res = method === 'GET' ? await bob.request({ method, url }) : await bob.post(url, { username: 'mallory', password: OTHER, password2: OTHER })
    t.equal(res.statusCode, 403, `${method} ${url}`)
    t.match(res.body, /Only a superuser can manage admin accounts/)
  }
  t.notOk((await accountsOf(app).byId(aliceId))!.disabled)
  t.notOk((await accountsOf(app).list()).some(a => a.username === 'mallory'))

  // Disabling ends the sessions at once and refuses logins; enabling undoes it.
  const disabled = await alice.post(`${bobUrl}/disable`)
  t.equal(disabled.statusCode, 303)
  t.equal((await bob.request({ method: 'GET', url: '/admin/images' })).statusCode, 303, "bob's session has ended")
  const refused = await app.inject({ method: 'POST', url: '/admin/login', remoteAddress: nextAddress(), ...form({ username: 'bob', password: OTHER }) })
  t.equal(refused.statusCode, 403)
  t.match(refused.body, /This account is disabled/)
  t.notOk(sessionCookie(refused))
  const wrong = await app.inject({ method: 'POST', url: '/admin/login', remoteAddress: nextAddress(), ...form({ username: 'bob', password: 'not the password' }) })
  t.match(wrong.body, /Please enter a correct username and password/, 'a wrong password does not learn that the account is disabled')
  t.match((await alice.request({ method: 'GET', url: '/admin/accounts' })).body, /bob<\/a><\/td>\s*<td>Operator<\/td>\s*<td><span class="badge off">Disabled/)

  const self = await alice.post(`/admin/accounts/${aliceId}/disable`)
  t.equal(self.statusCode, 400)
  t.match(self.body, /You cannot disable your own account/)
  t.notOk((await accountsOf(app).byId(aliceId))!.disabled)

  t.equal((await alice.post(`${bobUrl}/enable`)).statusCode, 303)
  const bobAgain = await login(app, 'bob', OTHER)

  // A new password: rules apply, the account's sessions end, the old password stops working.
  const short = await alice.post(`${bobUrl}/password`, { password: 'short', password2: 'short' })
  t.equal(short.statusCode, 400)
  t.match(short.body, /at least 12 characters/)
  t.equal((await alice.post(`${bobUrl}/password`, { password: 'bob has a new password', password2: 'bob has a new password' })).statusCode, 303)
  t.equal((await bobAgain.request({ method: 'GET', url: '/admin/images' })).statusCode, 303, "bob's sessions ended")
  t.equal((await app.inject({ method: 'POST', url: '/admin/login', remoteAddress: nextAddress(), ...form({ username: 'bob', password: OTHER }) })).statusCode, 401)
  await login(app, 'bob', 'bob has a new password')

  // Her own new password: her other sessions end, this one goes on (with a new cookie).
  const elsewhere = await login(app)
  const own = await alice.post(`/admin/accounts/${aliceId}/password`, { password: 'alice has a new one', password2: 'alice has a new one' })
  t.equal(own.statusCode, 303)
  const renewed = sessionCookie(own)
  t.ok(renewed)
  t.equal((await app.inject({ method: 'GET', url: '/admin/accounts', cookies: { admin_session: renewed! } })).statusCode, 200, 'still logged in here')
  t.equal((await elsewhere.request({ method: 'GET', url: '/admin/images' })).statusCode, 303, 'logged out elsewhere')

  // All of it is in the audit log, newest first.
  const audit = await app.inject({ method: 'GET', url: '/admin/audit', cookies: { admin_session: renewed! } })
  t.equal(audit.statusCode, 200)
  t.same(auditRows(audit.body).filter(r => r.includes(' account.')), [
    'alice account.password alice',
    'alice account.password bob',
    'alice account.enable bob',
    'alice account.disable bob',
    'alice account.create bob'
  ])
  t.match(audit.body, /bob login.refused bob|<code>login.refused<\/code>/)
  t.match(audit.body, /Disabled &#39;bob&#39;; its sessions ended\./)
})

t.test('the audit log: log in and out, newest first, paged and filtered', async t => {
  const { app } = await adminApp(t)
  const alice = await login(app)
  const out = await login(app)
  t.equal((await out.post('/admin/logout')).statusCode, 303)

  const events = auditEventModel(app.db.connection)
  const base = Date.UTC(2024, 0, 1)
  await events.insertMany(Array.from({ length: 120 }, (_, i) => ({
    actor: 'dropbox-sync', action: 'image.deleted', target: `id-${String(i).padStart(3, '0')}`, details: { reason: 'gone from Dropbox' }, at: new Date(base + i * 1000)
  })))

  const first = await alice.request({ method: 'GET', url: '/admin/audit' })
  t.equal(first.statusCode, 200)
  const rows = auditRows(first.body)
  t.equal(rows.length, 50)
  t.same(rows.slice(0, 3), ['alice logout alice', 'alice login alice', 'alice login alice'], 'newest first')
  t.equal(rows[3], 'dropbox-sync image.deleted id-119')
  t.match(first.body, /\{&quot;reason&quot;:&quot;gone from Dropbox&quot;\}/, 'details without a summary show as they are')

  // Older pages, then back: every event once.
  const seen = [...rows]
  let page = first.body
  for (;;) {
    const older = /rel="next" href="([^"]+)"/.exec(page)?.[1]?.replace(/&amp;/g, '&')
    if (!older) break
    page = (await alice.request({ method: 'GET', url: older })).body
    seen.push(...auditRows(page))
  }
  t.equal(seen.length, 123)
  t.equal(new Set(seen.filter(r => r.startsWith('dropbox'))).size, 120)
  t.equal(seen.at(-1), 'dropbox-sync image.deleted id-000')
  const newer = /rel="prev" href="([^"]+)"/.exec(page)![1]!.replace(/&amp;/g, '&')
  t.same(auditRows((await alice.request({ method: 'GET', url: newer })).body), seen.slice(50, 100))

  const mine = auditRows((await alice.request({ method: 'GET', url: '/admin/audit?actor=alice' })).body)
  t.same(mine, ['alice logout alice', 'alice login alice', 'alice login alice'])
  t.equal((await alice.request({ method: 'GET', url: '/admin/audit?older=bm9wZQ' })).statusCode, 400)
})

t.test('log out from a link: a confirmation page whose button posts', async t => {
  const { app } = await adminApp(t)
  const alice = await login(app)
  const page = await alice.request({ method: 'GET', url: '/admin/logout' })
  t.equal(page.statusCode, 200)
  t.match(page.body, /<form method="post" action="\/admin\/logout">\s*<input type="hidden" name="_csrf" value="[^"]+">/)
  t.equal((await alice.request({ method: 'GET', url: '/admin/images' })).statusCode, 200, 'the GET alone logs nobody out')
  t.equal((await alice.post('/admin/logout', { _csrf: csrfTokenIn(page.body) })).statusCode, 303)
  t.equal((await alice.request({ method: 'GET', url: '/admin/images' })).statusCode, 303)
})

t.test('accounts from the command line and the bootstrap settings are superusers', async t => {
  const { app } = await adminApp(t)
  const accounts = accountsOf(app)
  await accounts.create('carol', PASSWORD, { superuser: false })
  t.same((await accounts.list()).map(a => [a.username, a.superuser]), [['alice', true], ['carol', false]])
  await accounts.setSuperuser('carol', true)
  t.ok((await accounts.list()).find(a => a.username === 'carol')!.superuser)
  // Accounts made before the flag existed were made from the command line: superusers.
  await app.db.connection.collection('admin_users').updateOne({ username: 'alice' }, { $unset: { is_superuser: '', disabled: '' } })
  const alice = await login(app)
  t.equal((await alice.request({ method: 'GET', url: '/admin/accounts' })).statusCode, 200)
})
