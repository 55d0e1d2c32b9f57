import t from 'tap'
import { startWorker } from '../helpers/build.ts'
import { failedUpload } from './failed-job.ts'
import { adminApp, login } from './helpers.ts'
import { waitFor } from '../../scripts/lib/wait-for.ts'

t.test('the queue dashboard shows a failed job with its reason, and retries it', async t => {
  const { app, config } = await adminApp(t)
  await startWorker(t, config)
  const operator = await login(app)
  await failedUpload(app.uploadQueue.queue)

  const page = await operator.request({ method: 'GET', url: '/admin/queues' })
  t.equal(page.statusCode, 200)
  t.match(page.body, /<base href="\/admin\/queues\/?"/, 'the dashboard knows where it is mounted')
  t.match(page.headers['content-security-policy'], /style-src 'self' 'unsafe-inline'/, 'its own policy')
  // Its header leads back to the panel and out of it, and its dates are in the panel's zone.
  const ui = JSON.parse(/<script id="__UI_CONFIG__" type="application\/json">(.*?)<\/script>/s.exec(page.body)![1]!)
  t.same(ui.miscLinks.map((l: { url: string }) => l.url), ['/admin/images', '/admin/audit', '/admin/logout'])
  for (const kind of ['short', 'common', 'full']) t.equal(ui.dateFormats[kind].timeZone, 'UTC', `${kind} dates in ADMIN_TIME_ZONE`)
  t.equal(ui.environment.label, 'Times in UTC')
  const script = /src="(static\/js\/main\.[^"]+)"/.exec(page.body)![1]
  t.equal((await operator.request({ method: 'GET', url: `/admin/queues/${script}` })).statusCode, 200, 'its assets load with a session')
  t.equal((await app.inject({ method: 'GET', url: `/admin/queues/${script}` })).statusCode, 401, 'and not without')

  const api = await operator.request({ method: 'GET', url: '/admin/queues/api/queues?activeQueue=uploads&status=failed&page=1&jobsPerPage=10' })
  t.equal(api.statusCode, 200)
  const queue = api.json().queues.find((q: { name: string }) => q.name === 'uploads')
  t.equal(queue.counts.failed, 1)
  t.equal(queue.jobs[0].id, 'missing-staged-file')
  t.match(queue.jobs[0].failedReason, /the staged file of upload missing-staged-file is missing/)

  const retry = await operator.request({ method: 'PUT', url: '/admin/queues/api/queues/uploads/missing-staged-file/retry', headers: { origin: 'http://localhost:80' } })
  t.equal(retry.statusCode, 204, 'retried through Bull Board on BullMQ 6')
  // The worker runs it again; its file is still missing, so it fails again, a second time.
  const ranAgain = await waitFor(async () => (await app.uploadQueue.queue.getJob('missing-staged-file'))!.attemptsStarted >= 2, { what: 'the retried job to run' })
  t.ok(ranAgain, 'the job ran again')

  // Powers that would let a panel user make the worker publish arbitrary files are switched off.
  const add = await operator.request({ method: 'POST', url: '/admin/queues/api/queues/uploads/add', payload: { name: 'upload', data: {} } })
  t.equal(add.statusCode, 403)
  const edit = await operator.request({ method: 'PATCH', url: '/admin/queues/api/queues/uploads/missing-staged-file/update-data', payload: { stagedPath: '/etc/passwd' } })
  t.equal(edit.statusCode, 403)
  t.equal((await app.uploadQueue.queue.getJob('missing-staged-file'))!.data.stagedPath, '/nonexistent/staging/missing-staged-file')

  // Nothing the panel offers can drop an accepted upload.
  for (const [method, url] of [
    ['PUT', '/admin/queues/api/queues/uploads/missing-staged-file/clean'],
    ['PUT', '/admin/queues/api/queues/uploads/clean/failed'],
    ['PUT', '/admin/queues/api/queues/uploads/empty'],
    ['PUT', '/admin/queues/api/queues/uploads/obliterate'],
    ['PUT', '/admin/queues/api/queues/uploads/concurrency']
  ] as const) {
    const res = await operator.request({ method, url, headers: { origin: 'http://localhost:80' }, payload: {} })
    t.equal(res.statusCode, 403, `${method} ${url}`)
  }
  t.ok(await app.uploadQueue.queue.getJob('missing-staged-file'), 'the job is still there')
})
