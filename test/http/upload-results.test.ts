import type { Queue } from 'bullmq'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { JobWaiter } from '../../src/queue/job-waiter.ts'
import { build, startWorker } from '../helpers/build.ts'
import { testEnv } from '../helpers/config.ts'
import { randomPng } from '../helpers/images.ts'
import { uploadForm } from '../helpers/multipart.ts'

function upload (app: FastifyInstance, phone: string, files: number): Promise<{ statusCode: number, body: string }> {
  return app.inject({
    method: 'POST',
    url: '/api/upload/',
    ...uploadForm(phone, Array.from({ length: files }, (_, i) => ({ filename: `p${i}.png`, content: randomPng(2000) })))
  })
}

t.test('each API process receives the outcomes of its own jobs only', async t => {
  const { config } = await testEnv(t)
  const first = await build(t, config)
  const second = await build(t, config)
  await startWorker(t, config)
  t.not(first.uploadQueue.instance, second.uploadQueue.instance, 'an instance id per process')
  t.not(first.uploadQueue.results.channel, second.uploadQueue.results.channel)

  const [a, b] = await Promise.all([upload(first, '1111111111', 3), upload(second, '2222222222', 2)])
  t.equal(a.statusCode, 200, a.body)
  t.equal(b.statusCode, 200, b.body)
  const a2 = await upload(first, '1111111111', 1)
  t.equal(a2.statusCode, 200, a2.body)

  t.equal(first.uploadQueue.waiter.stats.messages, 4, 'the first process got its 4 outcomes, none of the other\'s')
  t.equal(second.uploadQueue.waiter.stats.messages, 2, 'the second process got its 2 outcomes')
  t.equal(first.uploadQueue.waiter.stats.settledByMessage + first.uploadQueue.waiter.stats.settledByRead, 4)
  t.equal(second.uploadQueue.waiter.stats.settledByMessage + second.uploadQueue.waiter.stats.settledByRead, 2)
  const job = await first.uploadQueue.queue.getJob(JSON.parse(a2.body).results[0].upload_id)
  t.equal(job?.data.apiInstance, first.uploadQueue.instance, 'the job names the process that queued it')
})

t.test('an outcome whose message was missed is settled by the re-read sweep', async t => {
  const { config } = await testEnv(t)
  const app = await build(t, config)
  await startWorker(t, config)
  const { channel, subscriber } = app.uploadQueue.results
  const { stats } = app.uploadQueue.waiter

  await subscriber.unsubscribe(channel)
  const started = Date.now()
  const res = await upload(app, '3333333333', 1)
  t.equal(res.statusCode, 200, res.body)
  t.ok(Date.now() - started < 10_000, 'within a sweep or two, not the whole wait')
  t.equal(stats.messages, 0, 'no message reached the process')
  t.equal(stats.settledByRead, 1, 'the sweep read the outcome')

  await subscriber.subscribe(channel)
  const again = await upload(app, '3333333333', 1)
  t.equal(again.statusCode, 200, again.body)
  t.equal(stats.messages, 1)
  t.equal(stats.settledByMessage, 1, 'subscribed again, the message settles the wait')
})

t.test('the waiter takes completed and failed outcomes from its channel, and ignores anything else', async t => {
  const waiter = new JobWaiter({} as Queue, { sweepMs: 60_000 })
  t.teardown(() => waiter.close())
  const failed = waiter.wait('a', 5000, { readFirst: false })
  const completed = waiter.wait('b', 5000, { readFirst: false })
  waiter.receive('not json')
  waiter.receive(JSON.stringify({ status: 'failed' }))
  waiter.receive(JSON.stringify({ jobId: 'a', status: 'failed', reason: 'the staged file is missing' }))
  const result = { fileName: 'f.png', imageUrl: 'u', message: 'm', storagePath: 'p', size: 1 }
  waiter.receive(JSON.stringify({ jobId: 'b', status: 'completed', result }))
  waiter.receive(JSON.stringify({ jobId: 'b', status: 'completed', result }))
  t.same(await failed, { status: 'failed', reason: 'the staged file is missing' })
  t.same(await completed, { status: 'completed', result })
  t.same(waiter.stats, { messages: 3, settledByMessage: 2, settledByRead: 0 }, 'a repeated outcome settles nothing more')
})
