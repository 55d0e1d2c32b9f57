import Fastify, { type RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import t from 'tap'
import app, { serverOptions } from '../../src/app.ts'
import { build } from '../helpers/build.ts'
import { testEnv } from '../helpers/config.ts'
import { accountsOf, adminApp, form, login, nextAddress, PASSWORD, sessionCookie } from './helpers.ts'

t.test('every admin route refuses an anonymous request', async t => {
  const { config } = await testEnv(t)
  const routes: RouteOptions[] = []
  const server = Fastify(serverOptions(config))
  server.addHook('onRoute', route => { if (route.url?.startsWith('/admin')) routes.push(route) })
  await server.register(fp(app), { config })
  await server.ready()
  t.teardown(() => server.close())

  // The only doors without a session: the login form and the (data-free) stylesheet and script.
  const open = new Set(['GET /admin/login', 'HEAD /admin/login', 'POST /admin/login', 'GET /admin/assets/admin.css', 'HEAD /admin/assets/admin.css', 'GET /admin/assets/admin.js', 'HEAD /admin/assets/admin.js'])
  const seen = new Set<string>()
  for (const route of routes) {
    for (const method of [route.method].flat()) {
      const url = route.url!.replace(/:queueName/g, 'uploads').replace(/:[A-Za-z]+/g, '0123456789abcdef01234567').replace('*', 'js/main.js')
      const key = `${method} ${route.url}`
      if (seen.has(key)) continue
      seen.add(key)
      if (open.has(key)) continue
      const res = await server.inject({ method: method as 'GET', url, payload: method === 'GET' || method === 'HEAD' ? undefined : {} })
      const isApi = route.url!.startsWith('/admin/queues/api/') || route.url!.startsWith('/admin/queues/static/')
      if (isApi) {
        t.equal(res.statusCode, 401, `${key} answers 401`)
      } else {
        t.equal(res.statusCode, 303, `${key} redirects to the login form`)
        t.match(res.headers.location, /^\/admin\/login/, `${key} redirects to the login form`)
      }
      t.notMatch(res.body, /1234567890|uploads/i, `${key} shows nothing`)
    }
  }
  t.ok(seen.size > 40, `walked ${seen.size} method/route pairs, Bull Board's included`)
  t.ok([...seen].some(k => k.startsWith('PUT /admin/queues/api/queues/:queueName/:jobId/retry')), 'the retry API is among them')

  // Unknown paths too: nothing tells an anonymous visitor which pages exist.
  const unknown = await server.inject({ method: 'GET', url: '/admin/nope' })
  t.equal(unknown.statusCode, 303)
})

t.test('login: wrong password fails, a created account logs in, logout ends the session', async t => {
  const { app } = await adminApp(t)

  const page = await app.inject({ method: 'GET', url: '/admin/login' })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /text\/html/)
  t.match(page.body, /<form method="post" action="\/admin\/login">/)

  for (const [username, password] of [['alice', 'wrong password!!'], ['bob', PASSWORD], ['', ''], ['alice', '']]) {
    const res = await app.inject({ method: 'POST', url: '/admin/login', ...form({ username, password }) })
    t.equal(res.statusCode, 401, `${username}/${password} refused`)
    t.match(res.body, /Please enter a correct username and password/)
    t.notOk(sessionCookie(res), 'no session cookie')
  }

  const ok = await app.inject({ method: 'POST', url: '/admin/login', ...form({ username: 'Alice', password: PASSWORD, next: '/admin/queues' }) })
  t.equal(ok.statusCode, 303)
  t.equal(ok.headers.location, '/admin/queues', 'back where the operator was going')
  const cookie = ok.cookies.find(c => c.name === 'admin_session')!
  t.ok(cookie.httpOnly, 'HttpOnly')
  t.equal(cookie.sameSite, 'Strict')
  t.equal(cookie.path, '/admin')
  t.notOk(cookie.secure, 'not Secure over plain HTTP')
  t.match(cookie.value, /^[A-Za-z0-9_-]{43}$/, '256 random bits')

  const list = await app.inject({ method: 'GET', url: '/admin/images', cookies: { admin_session: cookie.value } })
  t.equal(list.statusCode, 200)
  t.match(list.body, /alice/)
  t.equal(list.headers['cache-control'], 'no-store')
  t.match(list.headers['content-security-policy'], /default-src 'none'/)
  t.equal(list.headers['referrer-policy'], 'no-referrer')

  // next= never leads off the panel.
  for (const next of ['https://evil.example/', '//evil.example/admin', '/admin/../x', '/\\evil.example', '/admin/logout']) {
    const res = await app.inject({ method: 'POST', url: '/admin/login', remoteAddress: nextAddress(), ...form({ username: 'alice', password: PASSWORD, next }) })
    t.match(res.headers.location, /^\/admin(\/|$)/, `next=${next} stays on the panel`)
    t.not(res.headers.location, '/admin/logout')
  }

  const operator = await login(app)
  const out = await operator.post('/admin/logout')
  t.equal(out.statusCode, 303)
  t.equal(out.headers.location, '/admin/login?logged_out=1')
  const after = await operator.request({ method: 'GET', url: '/admin/images' })
  t.equal(after.statusCode, 303, 'the session is gone on the server, not only in the browser')
})

t.test('the cookie is Secure when configured for HTTPS', async t => {
  for (const env of [{ PUBLIC_BASE_URL: 'https://images.example.com' }, { ADMIN_COOKIE_SECURE: 'true' }] as Array<Record<string, string>>) {
    const { app } = await adminApp(t, env)
    const res = await app.inject({ method: 'POST', url: '/admin/login', ...form({ username: 'alice', password: PASSWORD }) })
    t.equal(res.statusCode, 303)
    t.ok(res.cookies.find(c => c.name === 'admin_session')?.secure, JSON.stringify(env))
  }
})

t.test('state-changing requests need the form token and must come from this site', async t => {
  const { app } = await adminApp(t)
  const operator = await login(app)

  const noToken = await operator.request({ method: 'POST', url: '/admin/logout', ...form({}) })
  t.equal(noToken.statusCode, 403)
  t.match(noToken.body, /form has expired/)
  const wrongToken = await operator.request({ method: 'POST', url: '/admin/logout', ...form({ _csrf: 'x'.repeat(43) }) })
  t.equal(wrongToken.statusCode, 403)

  const crossSite = await operator.request({ method: 'POST', url: '/admin/logout', ...form({ _csrf: operator.csrf }), headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' } })
  t.equal(crossSite.statusCode, 403)
  t.match(crossSite.body, /another site/)
  const fetchSite = await operator.request({ method: 'PUT', url: '/admin/queues/api/queues/pause', headers: { 'sec-fetch-site': 'cross-site' } })
  t.equal(fetchSite.statusCode, 403, "Bull Board's API refuses cross-site calls too")
  const sameSite = await operator.request({ method: 'PUT', url: '/admin/queues/api/queues/resume', headers: { 'sec-fetch-site': 'same-origin', origin: 'http://localhost:80' } })
  t.not(sameSite.statusCode, 403, 'same-origin calls pass')

  // Still logged in: none of the refused requests logged the operator out.
  t.equal((await operator.request({ method: 'GET', url: '/admin/images' })).statusCode, 200)
  const ok = await operator.post('/admin/logout')
  t.equal(ok.statusCode, 303)
})

t.test('login attempts are rate-limited per address and per account', async t => {
  const { app } = await adminApp(t, { ADMIN_LOGIN_ATTEMPTS_PER_MINUTE: '5' })
  const attempt = (password: string, remoteAddress = '10.0.0.1', username = 'alice') =>
    app.inject({ method: 'POST', url: '/admin/login', remoteAddress, ...form({ username, password }) })

  for (let i = 0; i < 5; i++) t.equal((await attempt('wrong password ' + i)).statusCode, 401)
  const limited = await attempt(PASSWORD)
  t.equal(limited.statusCode, 429, 'the address is out of attempts, even with the right password')
  t.match(limited.headers['content-type'], /text\/html/)
  t.match(limited.body, /Too many login attempts/)
  t.ok(Number(limited.headers['retry-after']) > 0)
  t.equal((await attempt(PASSWORD, '10.0.0.2')).statusCode, 303, 'another address may still log in')

  // Ten failures for one account, from many addresses, lock that account for a while.
  for (let i = 0; i < 10; i++) t.equal((await attempt('wrong password', `10.1.0.${i}`)).statusCode, 401)
  const locked = await attempt(PASSWORD, '10.2.0.1')
  t.equal(locked.statusCode, 429)
  t.match(locked.body, /Too many failed logins for this account/)
})

t.test('changing the password ends existing sessions', async t => {
  const { app } = await adminApp(t)
  const operator = await login(app)
  await accountsOf(app).setPassword('alice', 'another long password')
  const res = await operator.request({ method: 'GET', url: '/admin/images' })
  t.equal(res.statusCode, 303)
  t.equal((await app.inject({ method: 'POST', url: '/admin/login', ...form({ username: 'alice', password: 'another long password' }) })).statusCode, 303)
})

t.test('an account can be bootstrapped from settings, once', async t => {
  const { config } = await testEnv(t, { ADMIN_BOOTSTRAP_USERNAME: 'Root', ADMIN_BOOTSTRAP_PASSWORD: 'bootstrap password 1' })
  const app = await build(t, config)
  const res = await app.inject({ method: 'POST', url: '/admin/login', ...form({ username: 'root', password: 'bootstrap password 1' }) })
  t.equal(res.statusCode, 303)
  await app.close()
  // A later start with another bootstrap password changes nothing: accounts exist already.
  const again = await build(t, { ...config, admin: { ...config.admin, bootstrap: { username: 'root', password: 'other password 22' } } })
  t.equal((await again.inject({ method: 'POST', url: '/admin/login', ...form({ username: 'root', password: 'other password 22' }) })).statusCode, 401)
})

t.test('ADMIN_ENABLED=false leaves the panel out', async t => {
  const { config } = await testEnv(t, { ADMIN_ENABLED: 'false' })
  const app = await build(t, config)
  for (const url of ['/admin', '/admin/login', '/admin/queues', '/admin/images']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 404, url)
    t.same(res.json(), { message: `No route for GET ${url}.` })
  }
})
