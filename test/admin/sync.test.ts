// The admin's Dropbox sync page: when the last run was, what it changed, and "sync now".
import t from 'tap'
import { waitFor } from '../../scripts/lib/wait-for.ts'
import { startWorker } from '../helpers/build.ts'
import { dropboxEmulator } from '../helpers/dropbox.ts'
import { fakeJpeg } from '../helpers/images.ts'
import { adminApp, login } from './helpers.ts'

t.test('the sync page shows the last run, and "sync now" runs one', async t => {
  const { emulator, env } = await dropboxEmulator(t)
  // Only the button brings a run this side of the test's end.
  const { app, config } = await adminApp(t, { ...env, DROPBOX_SYNC_INTERVAL_MS: '600000' })
  const operator = await login(app)

  const before = await operator.request({ method: 'GET', url: '/admin/sync' })
  t.equal(before.statusCode, 200)
  t.match(before.body, /No sync has run yet/)
  t.match(before.body, /<button type="submit">Sync now<\/button>/)
  t.match(before.body, /href="\/admin\/sync" aria-current="page">Dropbox sync</, 'in the navigation')

  const refused = await operator.request({ method: 'POST', url: '/admin/sync', payload: '_csrf=wrong', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(refused.statusCode, 403, 'a form without the session\'s token is refused')

  await emulator.addFile('/5551112222/a.jpg', fakeJpeg())
  await emulator.addFile('/5551112222/b.jpg', fakeJpeg())
  await startWorker(t, config)
  // The worker's first scheduled run lists everything; the button then brings one more.
  const first = await waitFor(async () => (await app.dropboxSync.status()).last, { what: 'the first run', timeoutMs: 10_000 })
  emulator.deletePath('/5551112222/a.jpg')
  const res = await operator.post('/admin/sync')
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/admin/sync')
  const last = await waitFor(async () => {
    const run = (await app.dropboxSync.status()).last
    return run && run.finishedAt !== first.finishedAt && run
  }, { what: 'the run the button asked for', timeoutMs: 10_000 })
  t.match(last, { trigger: 'admin', outcome: 'completed', deleted: 1 })

  const page = await operator.request({ method: 'GET', url: '/admin/sync' })
  t.match(page.body, /Sync queued/, 'the flash says it was queued')
  t.match(page.body, /<dd data-testid="deleted">1 /, 'what the last run changed')
  t.match(page.body, /asked by admin/)
  const audit = await operator.request({ method: 'GET', url: '/admin/audit?actor=dropbox-sync' })
  t.match(audit.body, /Deleted the record of \/5551112222\/a\.jpg: deleted in Dropbox/, 'the deletion is in the audit log')
})

t.test('with the sync off the page says so and the button is refused', async t => {
  const { app } = await adminApp(t)
  const operator = await login(app)
  const page = await operator.request({ method: 'GET', url: '/admin/sync' })
  t.equal(page.statusCode, 200)
  t.match(page.body, /The sync is off/)
  t.notMatch(page.body, /Sync now/)
  t.equal((await operator.post('/admin/sync')).statusCode, 409)
})
