import t from 'tap'
import { build, startWorker } from '../helpers/build.ts'
import { testEnv } from '../helpers/config.ts'
import { randomPng } from '../helpers/images.ts'
import { uploadForm } from '../helpers/multipart.ts'
import { waitFor } from '../../scripts/lib/wait-for.ts'

t.test('a wait that ends before the workers answers 202, and the upload still completes', async t => {
  const { config } = await testEnv(t, { UPLOAD_WAIT_MS: '1000' })
  const app = await build(t, config)
  const content = randomPng()

  // No worker yet: the job waits in the queue.
  const res = await app.inject({ method: 'POST', url: '/api/upload/', ...uploadForm('4242', [{ filename: 'late.png', content }]) })
  t.equal(res.statusCode, 202, res.body)
  const body = res.json()
  t.equal(body.message, 'Upload accepted; some images are still being processed.')
  t.equal(body.results[0].status, 'pending')
  t.equal(body.results[0].image_url, null)
  const id = body.results[0].upload_id

  const pending = await app.inject({ method: 'GET', url: `/api/uploads/${id}` })
  t.equal(pending.statusCode, 200)
  t.equal(pending.json().status, 'pending')
  t.equal(pending.json().phone_number, '4242')

  await startWorker(t, config)
  const status = await waitFor(async () => {
    const body = (await app.inject({ method: 'GET', url: `/api/uploads/${id}` })).json()
    return body.status !== 'pending' && body
  }, { what: 'the upload to leave "pending"' })
  t.equal(status.status, 'uploaded')
  t.equal(status.filename, body.results[0].filename)
  const file = await app.inject({ method: 'GET', url: new URL(status.image_url).pathname })
  t.same(file.rawPayload, content)

  const unknown = await app.inject({ method: 'GET', url: '/api/uploads/6761a2f5c3b1e24d8f0a9b7c' })
  t.equal(unknown.statusCode, 404)
  t.same(unknown.json(), { message: 'Upload not found.' })
  const bad = await app.inject({ method: 'GET', url: '/api/uploads/nope' })
  t.equal(bad.statusCode, 400)
})
