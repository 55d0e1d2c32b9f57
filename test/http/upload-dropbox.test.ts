import t from 'tap'
import { build, startWorker } from '../helpers/build.ts'
import { testEnv } from '../helpers/config.ts'
import { dropboxEmulator } from '../helpers/dropbox.ts'
import { randomPng } from '../helpers/images.ts'
import { uploadForm } from '../helpers/multipart.ts'
import { stagedFiles } from '../helpers/queue.ts'

for (const strategy of ['batch', 'single']) {
  t.test(`uploads to Dropbox (${strategy}) under /<phone>/<filename> and answers raw links`, async t => {
    const { emulator, env } = await dropboxEmulator(t)
    const { config } = await testEnv(t, { ...env, DROPBOX_UPLOAD_STRATEGY: strategy })
    const app = await build(t, config)
    await startWorker(t, config)
    const files = [randomPng(4000), randomPng(6000)]

    const res = await app.inject({
      method: 'POST',
      url: '/api/upload/',
      ...uploadForm('1234567890', files.map((content, i) => ({ filename: `image${i + 1}.png`, content })))
    })
    t.equal(res.statusCode, 200, res.body)
    const { results } = res.json()
    for (const [i, result] of results.entries()) {
      t.equal(result.message, `File '${result.filename}' uploaded successfully to Dropbox`)
      const url = new URL(result.image_url)
      t.equal(url.origin, 'https://www.dropbox.com')
      t.equal(url.searchParams.get('raw'), '1')
      t.equal(url.searchParams.get('dl'), null)
      t.ok(url.searchParams.get('rlkey'), 'rlkey kept')
      t.same(await emulator.readFile(`/1234567890/${result.filename}`), files[i], 'stored bytes')
      const download = await emulator.download(result.image_url)
      t.equal(download.status, 200)
      t.same(Buffer.from(await download.arrayBuffer()), files[i], 'bytes behind the raw link')
    }
    t.same(await stagedFiles(config), [])
    if (strategy === 'batch') {
      t.equal(emulator.counters.calls['files/upload'] ?? 0, 0, 'no single-call uploads')
      t.ok(emulator.counters.calls['files/upload_session/finish_batch_v2'], 'committed in batches')
    }

    const lookup = await app.inject({ method: 'GET', url: '/api/get-phone/?phone_number=1234567890' })
    t.same(Object.values(lookup.json().image_urls).sort(), results.map((r: { image_url: string }) => r.image_url).sort())
  })
}

t.test('a file Dropbox refuses fails for good: 500 with the reason, the others still stored', async t => {
  // Dropbox refuses bodies over its per-call limit; here the limit is lowered below one file.
  const { emulator, env } = await dropboxEmulator(t, { maxUploadBytesPerCall: 5000 })
  const { config } = await testEnv(t, env)
  const app = await build(t, config)
  await startWorker(t, config)
  const small = randomPng(2000)

  const res = await app.inject({
    method: 'POST',
    url: '/api/upload/',
    ...uploadForm('1', [{ filename: 'small.png', content: small }, { filename: 'large.png', content: randomPng(8000) }])
  })
  t.equal(res.statusCode, 500, res.body)
  const body = res.json()
  t.equal(body.message, 'Failed to upload all images.')
  t.equal(body.phone_number, '1')
  t.equal(body.results[0].status, 'uploaded')
  t.same(Buffer.from(await (await emulator.download(body.results[0].image_url)).arrayBuffer()), small)
  t.equal(body.results[1].status, 'failed')
  t.equal(body.results[1].image_url, null)
  t.match(body.results[1].error, /payload_too_large/)
  t.equal(emulator.files().length, 1, 'only the small file is in Dropbox')
})
