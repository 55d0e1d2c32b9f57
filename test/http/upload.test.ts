import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { build, startWorker } from '../helpers/build.ts'
import { testEnv } from '../helpers/config.ts'
import { fakeJpeg, randomPng } from '../helpers/images.ts'
import { multipart, uploadForm } from '../helpers/multipart.ts'
import { stagedFiles } from '../helpers/queue.ts'

const STAMPED = /^\d{4}-\d{2}-\d{2}_\d{2}:\d{2}:\d{2}_/

t.test('uploads images and answers as the contract shows', async t => {
  const { config, dataDir } = await testEnv(t)
  const app = await build(t, config)
  await startWorker(t, config)
  const first = randomPng(3000)
  const second = fakeJpeg(5000)

  const res = await app.inject({
    method: 'POST',
    url: '/api/upload/',
    ...uploadForm('1234567890', [{ filename: 'image1.png', content: first }, { filename: 'image2.jpg', content: second }])
  })
  t.equal(res.statusCode, 200, res.body)
  const body = res.json()
  t.equal(body.phone_number, '1234567890')
  t.equal(body.results.length, 2)
  t.match(body.results[0].filename, /^\d{4}-\d{2}-\d{2}_\d{2}:\d{2}:\d{2}_image1\.png$/)
  t.match(body.results[1].filename, /^\d{4}-\d{2}-\d{2}_\d{2}:\d{2}:\d{2}_image2\.jpg$/)
  for (const result of body.results) {
    t.equal(result.message, `File '${result.filename}' uploaded successfully to local storage`)
    t.equal(result.status, 'uploaded')
    t.match(result.image_url, /^http:\/\/localhost:3000\/files\/1234567890\//)
    const base = `http://localhost:3000/i/${result.upload_id}`
    t.same(result.urls, { original: base, display: `${base}/display`, thumbnail: `${base}/thumbnail` }, 'the stable URLs, beside image_url')
  }

  // The URL serves exactly the uploaded bytes.
  for (const [i, content] of [first, second].entries()) {
    const path = new URL(body.results[i].image_url).pathname
    const download = await app.inject({ method: 'GET', url: path })
    t.equal(download.statusCode, 200)
    t.same(download.rawPayload, content, `file ${i + 1} bytes`)
    t.same(await readFile(join(dataDir, '1234567890', body.results[i].filename)), content)
  }

  // Staged files are gone once stored.
  t.same(await stagedFiles(config), [])

  const lookup = await app.inject({ method: 'GET', url: '/api/get-phone/?phone_number=1234567890' })
  t.equal(lookup.statusCode, 200)
  t.same(lookup.json().phone_number, '1234567890')
  t.same(lookup.json().image_urls, Object.fromEntries(body.results.map((r: { filename: string, image_url: string }) => [r.filename, r.image_url])))
  t.same(lookup.json().images.map((i: { upload_id: string }) => i.upload_id).sort(), body.results.map((r: { upload_id: string }) => r.upload_id).sort(), 'and each image, by id')
})

t.test('accepts images[], the phone number after the files, and the path without its slash', async t => {
  const { config } = await testEnv(t)
  const app = await build(t, config)
  await startWorker(t, config)
  const content = randomPng()
  const res = await app.inject({
    method: 'POST',
    url: '/api/upload',
    ...multipart([
      { name: 'images[]', filename: 'a.png', content },
      { name: 'images[]', filename: 'b.png', content: randomPng() },
      { name: 'phone_number', value: '+1 (234) 567-8901' }
    ])
  })
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.json().phone_number, '12345678901')
  t.equal(res.json().results.length, 2)
  t.match(res.json().results[0].filename, /_a\.png$/)
})

t.test('sanitizes file names: no path parts, no control characters, extension kept', async t => {
  const { config } = await testEnv(t)
  const app = await build(t, config)
  await startWorker(t, config)
  const names = ['../../etc/passwd.png', 'C:\\Users\\me\\photo.png', 'bad\u0000name.png', '....', '.hidden.png']
  const res = await app.inject({
    method: 'POST',
    url: '/api/upload/',
    ...uploadForm('555', names.map(filename => ({ filename, content: randomPng() })))
  })
  t.equal(res.statusCode, 200, res.body)
  const stored = res.json().results.map((r: { filename: string }) => r.filename.replace(STAMPED, ''))
  t.same(stored, ['passwd.png', 'photo.png', 'badname.png', 'image.png', 'hidden.png'])
})

t.test('an image named as a page is stored and served as the image it is', async t => {
  const { config } = await testEnv(t)
  const app = await build(t, config)
  await startWorker(t, config)
  const content = Buffer.concat([randomPng(200), Buffer.from('<script>alert(document.cookie)</script>')])
  const res = await app.inject({ method: 'POST', url: '/api/upload/', ...uploadForm('556', [{ filename: 'evil.html', content }, { filename: 'evil.svg', content }]) })
  t.equal(res.statusCode, 200, res.body)
  for (const result of res.json().results) {
    t.match(result.filename, /_evil\.png$/)
    const served = await app.inject({ method: 'GET', url: new URL(result.image_url).pathname })
    t.equal(served.headers['content-type'], 'image/png')
    t.equal(served.headers['x-content-type-options'], 'nosniff')
    t.match(served.headers['content-security-policy'], /sandbox/)
  }
})

t.test('two files with the same name in the same second are both kept', async t => {
  const { config } = await testEnv(t)
  const app = await build(t, config)
  await startWorker(t, config)
  const res = await app.inject({
    method: 'POST',
    url: '/api/upload/',
    ...uploadForm('777', [{ filename: 'same.png', content: randomPng() }, { filename: 'same.png', content: randomPng() }])
  })
  t.equal(res.statusCode, 200, res.body)
  const [a, b] = res.json().results
  t.not(a.image_url, b.image_url)
  const lookup = await app.inject({ method: 'GET', url: '/api/get-phone/?phone_number=777' })
  t.equal(Object.keys(lookup.json().image_urls).length, 2)
})
