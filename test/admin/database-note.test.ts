import type { Connection } from 'mongoose'
import t from 'tap'
import { ferretdbVersion } from '../../src/admin/images/database-engine.ts'
import { adminApp, login } from './helpers.ts'

/** A connection whose server answers buildInfo with `answer` (or fails). */
function server (answer: () => Promise<Record<string, unknown>>): Connection {
  return { db: { admin: () => ({ command: answer }) } } as unknown as Connection
}

t.test('FerretDB is told from MongoDB by its buildInfo, asked once per connection', async t => {
  let asked = 0
  const mongodb = server(async () => { asked++; return { version: '8.0.4' } })
  t.equal(await ferretdbVersion(mongodb), undefined)
  t.equal(await ferretdbVersion(mongodb), undefined)
  t.equal(asked, 1, 'asked once')
  t.equal(await ferretdbVersion(server(async () => ({ version: '7.0.42', ferretdbVersion: 'v1.24.2' }))), 'v1.24.2')
  let up = false
  const flaky = server(async () => {
    if (!up) throw new Error('down')
    return { version: '7.0.42', ferretdbVersion: 'unknown' }
  })
  t.equal(await ferretdbVersion(flaky), undefined, 'unknown while the database is down')
  up = true
  t.equal(await ferretdbVersion(flaky), 'unknown', 'asked again once it is back')
})

t.test('the list says so when the database is FerretDB, and that production uses MongoDB', async t => {
  const { app } = await adminApp(t)
  const operator = await login(app)
  const info = await app.db.connection.db!.admin().command({ buildInfo: 1 })
  const res = await operator.request({ method: 'GET', url: '/admin/images' })
  t.equal(res.statusCode, 200)
  if ('ferretdbVersion' in info) {
    t.match(res.body, /<p class="hint" data-testid="database-note">This database is FerretDB[^<]*slow down as records grow[^<]*Production uses MongoDB/)
  } else {
    t.notMatch(res.body, /database-note/, 'no note on MongoDB')
  }
})
