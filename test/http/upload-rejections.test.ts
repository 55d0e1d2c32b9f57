import { Agent, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { build } from '../helpers/build.ts'
import { testEnv } from '../helpers/config.ts'
import { fakeJpeg, randomPng } from '../helpers/images.ts'
import { multipart, uploadForm } from '../helpers/multipart.ts'
import { jobCount, stagedFiles } from '../helpers/queue.ts'

// No worker runs here: a rejected request must never reach the queue.
t.test('every bad request gets a 4xx with a message, and leaves no staged file and no job', async t => {
  const { config } = await testEnv(t, { UPLOAD_MAX_FILE_BYTES: '10000', UPLOAD_MAX_FILES: '3' })
  const app = await build(t, config)
  const png = randomPng(2000)
  const text = Buffer.from('just some text, certainly not an image')

  const cases: Array<[string, { payload: Buffer | string, headers: Record<string, string> }, number, string | RegExp]> = [
    ['no phone number', multipart([{ name: 'images', filename: 'a.png', content: png }]), 400, 'Phone number and images are required.'],
    ['empty phone number', uploadForm('', [{ filename: 'a.png', content: png }]), 400, 'Phone number and images are required.'],
    ['no images', multipart([{ name: 'phone_number', value: '123' }]), 400, 'Phone number and images are required.'],
    ['images from another field only', multipart([{ name: 'phone_number', value: '123' }, { name: 'photo', filename: 'a.png', content: png }]), 400, 'Phone number and images are required.'],
    ['invalid phone number', uploadForm('12ab34', [{ filename: 'a.png', content: png }]), 400, /^Invalid phone number: a phone number is 1 to 15 digits/],
    ['phone number too long', uploadForm('1234567890123456', [{ filename: 'a.png', content: png }]), 400, /^Invalid phone number/],
    ['phone number as an object', multipart([{ name: 'phone_number[$ne]', value: '1' }, { name: 'images', filename: 'a.png', content: png }]), 400, 'phone_number must be sent once, as a single text value.'],
    ['phone number twice', multipart([{ name: 'phone_number', value: '1' }, { name: 'phone_number', value: '2' }, { name: 'images', filename: 'a.png', content: png }]), 400, 'phone_number must be sent once, as a single text value.'],
    ['a file that is not an image', uploadForm('123', [{ filename: 'a.png', content: png }, { filename: 'notes.png', content: text }]), 415, /^File 'notes.png' is not an image/],
    ['an empty file', uploadForm('123', [{ filename: 'empty.png', content: Buffer.alloc(0) }]), 400, "File 'empty.png' is empty."],
    ['a file over the size limit', uploadForm('123', [{ filename: 'big.jpg', content: fakeJpeg(20_000) }]), 413, "File 'big.jpg' is larger than the limit of 10000 bytes."],
    ['too many files', uploadForm('123', Array.from({ length: 4 }, (_, i) => ({ filename: `${i}.png`, content: png }))), 413, 'Too many images: at most 3 per request.'],
    ['a JSON body', { payload: JSON.stringify({ phone_number: '123', images: [] }), headers: { 'content-type': 'application/json' } }, 400, 'Phone number and images are required.'],
    ['a text body', { payload: 'phone_number=123', headers: { 'content-type': 'text/plain' } }, 400, 'Phone number and images are required.'],
    ['a urlencoded body', { payload: 'phone_number=123', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 400, 'Phone number and images are required.'],
    ['no body', { payload: '', headers: {} }, 400, 'Phone number and images are required.'],
    ['parts without a name', { payload: Buffer.from('--b\r\nContent-Disposition: form-data\r\n\r\n123\r\n--b\r\nContent-Disposition: form-data; filename="a.png"\r\n\r\nxx\r\n--b--\r\n'), headers: { 'content-type': 'multipart/form-data; boundary=b' } }, 400, 'Phone number and images are required.'],
    ['a phone number field declared as JSON that is not', { payload: Buffer.from('--b\r\nContent-Disposition: form-data; name="phone_number"\r\nContent-Type: application/json\r\n\r\n{nope\r\n--b--\r\n'), headers: { 'content-type': 'multipart/form-data; boundary=b' } }, 400, /not valid JSON/],
    ['a truncated multipart body', { payload: uploadForm('123', [{ filename: 'a.png', content: png }]).payload.subarray(0, 1500), headers: uploadForm('1', []).headers }, 400, /malformed|incomplete/]
  ]

  for (const [name, request, status, message] of cases) {
    const res = await app.inject({ method: 'POST', url: '/api/upload/', ...request })
    t.equal(res.statusCode, status, `${name}: status (${res.body})`)
    t.match(res.json().message, message, `${name}: message`)
    t.same(await stagedFiles(config), [], `${name}: nothing staged`)
  }
  t.equal(await jobCount(config), 0, 'no job was queued')

  // And the service still serves.
  const health = await app.inject({ method: 'GET', url: '/health' })
  t.equal(health.statusCode, 200)
})

t.test('the browser\'s empty "no file chosen" part is ignored', async t => {
  const { config } = await testEnv(t)
  const app = await build(t, config)
  const res = await app.inject({
    method: 'POST',
    url: '/api/upload/',
    ...multipart([{ name: 'phone_number', value: '123' }, { name: 'images', filename: '', content: Buffer.alloc(0) }])
  })
  t.equal(res.statusCode, 400)
  t.equal(res.json().message, 'Phone number and images are required.')
})

t.test('over a real keep-alive connection, a refused upload does not poison the next request', async t => {
  const { config } = await testEnv(t, { UPLOAD_MAX_FILE_BYTES: '100000' })
  const app = await build(t, config)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  const send = (method: string, path: string, form?: { payload: Buffer, headers: Record<string, string> }) =>
    new Promise<{ status: number, body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path, agent, headers: form?.headers, timeout: 5000 }, res => {
        let body = ''
        res.on('data', (d: Buffer) => { body += d })
        res.on('end', () => resolve({ status: res.statusCode!, body }))
      })
      req.on('timeout', () => req.destroy(new Error('no answer within 5 s')))
      req.on('error', reject)
      req.end(form?.payload)
    })

  // Refused after the first bytes, with most of the body still unsent.
  const notImage = await send('POST', '/api/upload/', uploadForm('1', [{ filename: 'a.png', content: Buffer.concat([Buffer.from('plain text, not an image'), Buffer.alloc(300_000)]) }]))
  t.equal(notImage.status, 415)
  t.equal((await send('GET', '/health')).status, 200, 'the next request on the agent is answered')
  const tooLarge = await send('POST', '/api/upload/', uploadForm('1', [{ filename: 'a.jpg', content: fakeJpeg(3_000_000) }]))
  t.equal(tooLarge.status, 413)
  t.equal((await send('GET', '/health')).status, 200, 'and again')
  t.same(await stagedFiles(config), [])
})
