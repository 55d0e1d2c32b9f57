import t from 'tap'
import { adminApp, form, login } from './helpers.ts'

t.test('the panel lists the API keys and revokes one after a confirmation, with the form token', async t => {
  const { app } = await adminApp(t, { API_AUTH: 'required' })
  const { key } = await app.apiKeys.create('ios-app')
  await app.apiKeys.create('android-app')
  const lookup = () => app.inject({ method: 'GET', url: '/api/get-phone/?phone_number=1', headers: { 'x-api-key': key } })
  t.equal((await lookup()).statusCode, 404, 'the key works')

  t.equal((await app.inject({ method: 'GET', url: '/admin/api-keys' })).statusCode, 303, 'anonymous: to the login form')
  const operator = await login(app)
  const list = await operator.request({ method: 'GET', url: '/admin/api-keys' })
  t.equal(list.statusCode, 200)
  t.match(list.body, /<a href="\/admin\/api-keys" aria-current="page">API keys<\/a>/, 'in the navigation')
  t.match(list.body, /ios-app/)
  t.match(list.body, /android-app/)
  t.notOk(list.body.includes(key), 'the key itself is never shown')
  const id = (await app.apiKeys.list()).find(k => k.name === 'ios-app')!.id

  const confirm = await operator.request({ method: 'GET', url: `/admin/api-keys/${id}/revoke` })
  t.match(confirm.body, /Revoke the API key 'ios-app'\?/)
  const forged = await operator.request({ method: 'POST', url: `/admin/api-keys/${id}/revoke`, ...form({}) })
  t.equal(forged.statusCode, 403, 'refused without the form token')
  t.equal((await lookup()).statusCode, 404, 'so the key still works')

  const revoked = await operator.post(`/admin/api-keys/${id}/revoke`)
  t.equal(revoked.statusCode, 303)
  t.equal(revoked.headers.location, '/admin/api-keys')
  const after = await operator.request({ method: 'GET', url: '/admin/api-keys' })
  t.match(after.body, /Revoked the API key &#39;ios-app&#39;/)
  t.match(after.body, /revoked <time/)
  const refused = await lookup()
  t.equal(refused.statusCode, 401)
  t.match(refused.json().message, /revoked/)
})
