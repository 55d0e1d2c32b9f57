import { createHash } from 'node:crypto'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { waitFor } from '../../scripts/lib/wait-for.ts'
import type { Config } from '../../src/config.ts'
import { RESUMABLE_DIR } from '../../src/staging/resumable-store.ts'
import { build, startWorker } from '../helpers/build.ts'
import { testEnv } from '../helpers/config.ts'
import { randomPng } from '../helpers/images.ts'
import { jobCount } from '../helpers/queue.ts'
import { TUS, tusCreate, tusCreated, tusMetadata, tusOffset, tusPatch } from '../helpers/tus.ts'

interface Served {
  base: string
  config: Config
}

/** The app listening on a free port (tus needs a real socket: it reads the raw request). */
async function serve (t: Test, overrides: Record<string, string> = {}, { worker = true } = {}): Promise<Served> {
  const { config } = await testEnv(t, overrides)
  const app = await build(t, config)
  await app.listen({ port: 0, host: '127.0.0.1' })
  if (worker) await startWorker(t, config)
  const address = app.server.address() as { port: number }
  return { base: `http://127.0.0.1:${address.port}`, config }
}

/** Files left in the staging area, the resumable subdirectory's included. */
async function staged (config: Config): Promise<string[]> {
  const top = (await readdir(config.stagingDir).catch(() => [])).filter(name => name !== RESUMABLE_DIR)
  const resumable = await readdir(join(config.stagingDir, RESUMABLE_DIR)).catch(() => [])
  return [...top, ...resumable.map(name => `${RESUMABLE_DIR}/${name}`)]
}

interface UploadBody {
  message?: string
  phone_number: string
  results: Array<{ filename: string, message: string, image_url: string | null, status: string, upload_id: string, error?: string }>
}

t.test('OPTIONS advertises tus 1.0 and its extensions; a CORS preflight still works', async t => {
  const { base } = await serve(t, {}, { worker: false })
  const res = await fetch(`${base}/api/tus/`, { method: 'OPTIONS' })
  t.equal(res.status, 204)
  t.equal(res.headers.get('tus-version'), '1.0.0')
  t.same(res.headers.get('tus-extension')?.split(',').sort(), ['checksum', 'creation', 'creation-with-upload', 'expiration', 'termination'])
  t.match(res.headers.get('tus-checksum-algorithm'), /(^|,)sha1(,|$)/)
  t.equal(res.headers.get('tus-max-size'), String(50 * 1024 * 1024))

  const preflight = await fetch(`${base}/api/tus/0123456789abcdef01234567`, {
    method: 'OPTIONS',
    headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'PATCH', 'Access-Control-Request-Headers': 'tus-resumable,upload-offset,content-type' }
  })
  t.equal(preflight.status, 204)
  t.equal(preflight.headers.get('access-control-allow-origin'), '*')
  t.match(preflight.headers.get('access-control-allow-methods'), /PATCH/)
  t.match(preflight.headers.get('access-control-allow-headers'), /Upload-Offset/)
  t.equal(preflight.headers.get('tus-version'), null, 'a preflight is answered by the CORS policy, not tus')

  // tus's own answers carry CORS headers for a browser app, exposing the tus headers.
  const created = await tusCreate(base, { length: 10, headers: { Origin: 'https://app.example' } })
  t.equal(created.headers.get('access-control-allow-origin'), '*')
  t.match(created.headers.get('access-control-expose-headers'), /Upload-Offset/)
  t.match(created.headers.get('access-control-expose-headers'), /Location/)
})

t.test('creation is refused with a JSON message: missing or invalid metadata, too large, empty, no Tus-Resumable', async t => {
  const { base, config } = await serve(t, { UPLOAD_MAX_FILE_BYTES: '1000' }, { worker: false })
  const cases: Array<[Parameters<typeof tusCreate>[1], number, RegExp]> = [
    [{ length: 10, phone: '' }, 400, /phone_number and filename/],
    [{ length: 10, filename: '' }, 400, /phone_number and filename/],
    [{ length: 10, phone: '12-ab' }, 400, /Invalid phone number/],
    [{ length: 0 }, 400, /empty/],
    [{ length: 1001 }, 413, /larger than the limit of 1000 bytes/]
  ]
  for (const [creation, status, message] of cases) {
    const res = await tusCreate(base, creation)
    t.equal(res.status, status, JSON.stringify(creation))
    t.match(res.headers.get('content-type'), /^application\/json/)
    t.equal(res.headers.get('tus-resumable'), '1.0.0')
    t.match((await res.json() as { message: string }).message, message)
  }
  const noVersion = await fetch(`${base}/api/tus/`, { method: 'POST', headers: { 'Upload-Length': '10', 'Upload-Metadata': tusMetadata({ phone_number: '1', filename: 'a.png' }) } })
  t.equal(noVersion.status, 412)
  t.match(await noVersion.json(), { message: /Tus-Resumable/ })
  t.same(await staged(config), [], 'nothing created')
})

t.test('an upload sent in pieces, resumed, lands in the pipeline and answers like a one-file POST', async t => {
  const { base, config } = await serve(t)
  const png = randomPng(50_000)
  const res = await tusCreate(base, { length: png.length, phone: '+1 (234) 567-890', filename: 'holiday.png', headers: { 'Upload-Metadata': tusMetadata({ phone_number: '+1 (234) 567-890', filename: '../holiday.png', filetype: 'text/html' }) } })
  t.equal(res.status, 201)
  const location = res.headers.get('location')!
  t.match(location, new RegExp(`^${base}/api/tus/[0-9a-f]{24}$`), 'an absolute URL whose last segment is an upload id')
  t.ok(res.headers.get('upload-expires'))
  const uploadId = location.split('/').pop()!

  const cut = Math.floor(png.length * 0.4)
  const first = await tusPatch(location, 0, png.subarray(0, cut))
  t.equal(first.status, 204)
  t.equal(first.headers.get('upload-offset'), String(cut))
  const head = await fetch(location, { method: 'HEAD', headers: TUS })
  t.equal(head.status, 200)
  t.equal(head.headers.get('upload-offset'), String(cut))
  t.equal(head.headers.get('upload-length'), String(png.length))
  t.equal(head.headers.get('cache-control'), 'no-store')

  const wrongOffset = await tusPatch(location, 0, png.subarray(0, 10))
  t.equal(wrongOffset.status, 409, 'a PATCH at the wrong offset is a conflict')
  t.equal((await tusOffset(location)).offset, cut, 'and changes nothing')

  const last = await tusPatch(location, cut, png.subarray(cut))
  t.equal(last.status, 200)
  t.equal(last.headers.get('tus-resumable'), '1.0.0')
  t.equal(last.headers.get('upload-offset'), String(png.length))
  t.match(last.headers.get('content-type'), /^application\/json/)
  const body = await last.json() as UploadBody
  t.equal(body.phone_number, '1234567890')
  t.equal(body.results.length, 1)
  t.match(body.results[0], { status: 'uploaded', upload_id: uploadId, filename: /^\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d_holiday\.png$/ })
  t.equal(body.results[0]!.message, `File '${body.results[0]!.filename}' uploaded successfully to local storage`)
  t.same(Object.keys(body), ['phone_number', 'results'], 'the one-file POST /api/upload/ body')

  const stored = await fetch(body.results[0]!.image_url!.replace('http://localhost:3000', base))
  t.same(Buffer.from(await stored.arrayBuffer()), png, 'the stored bytes are the bytes sent')
  const status = await (await fetch(`${base}/api/uploads/${uploadId}`)).json() as { status: string }
  t.equal(status.status, 'uploaded', 'GET /api/uploads/{id} knows the tus upload by its id')

  // The answer of the last PATCH was lost: HEAD says complete, a retried last PATCH answers again.
  t.same(await tusOffset(location), { status: 200, offset: png.length })
  const again = await tusPatch(location, png.length, Buffer.alloc(0))
  t.equal(again.status, 200)
  t.same((await again.json() as UploadBody).results[0], body.results[0])
  const terminate = await fetch(location, { method: 'DELETE', headers: TUS })
  t.equal(terminate.status, 400, 'a complete upload cannot be terminated')
  t.equal(await jobCount(config), 1, 'one job')
  await waitFor(async () => (await staged(config)).length === 0, { what: 'the staging area to be empty' })
})

t.test('a non-image is refused at the last PATCH: 415, nothing staged or queued', async t => {
  const { base, config } = await serve(t)
  const text = Buffer.from('this is not an image, whatever its name says.'.repeat(100))
  const location = await tusCreated(base, { length: text.length, filename: 'photo.jpg' })
  t.equal((await tusPatch(location.startsWith('http') ? location : base + location, 0, text.subarray(0, 1000))).status, 204, 'the first bytes are taken (the type is decided once the file is whole)')
  const last = await tusPatch(base + location, 1000, text.subarray(1000))
  t.equal(last.status, 415)
  t.equal(last.headers.get('tus-resumable'), '1.0.0')
  t.ok(last.headers.get('upload-offset'))
  t.same(await last.json(), { message: "File 'photo.jpg' is not an image (JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC/HEIF or AVIF)." })
  t.same(await staged(config), [], 'nothing left in the staging area')
  t.equal(await jobCount(config), 0, 'nothing queued')
  t.equal((await tusOffset(base + location)).status, 404, 'the upload is gone')
})

t.test('creation-with-upload of a whole non-image: 415 at once, nothing kept', async t => {
  const { base, config } = await serve(t)
  const text = Buffer.from('this is not an image, whatever its name says.'.repeat(100))
  const res = await tusCreate(base, { length: text.length, body: text, filename: 'photo.jpg' })
  t.equal(res.status, 415)
  t.same(await res.json(), { message: "File 'photo.jpg' is not an image (JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC/HEIF or AVIF)." })
  t.same(await staged(config), [], 'nothing left in the staging area')
  t.equal(await jobCount(config), 0, 'nothing queued')
})

t.test('creation-with-upload: the whole file in the POST answers with the result and the Location', async t => {
  const { base } = await serve(t)
  const png = randomPng(3000)
  const res = await tusCreate(base, { length: png.length, body: png })
  t.equal(res.status, 200)
  t.match(res.headers.get('location'), /\/api\/tus\/[0-9a-f]{24}$/)
  t.equal(res.headers.get('upload-offset'), String(png.length))
  const body = await res.json() as UploadBody
  t.equal(body.results[0]!.status, 'uploaded')
  t.equal(body.results[0]!.upload_id, res.headers.get('location')!.split('/').pop())
})

t.test('checksum: a body that does not match Upload-Checksum is discarded with 460', async t => {
  const { base } = await serve(t, {}, { worker: false })
  const png = randomPng(4000)
  const location = base + await tusCreated(base, { length: png.length })
  const piece = png.subarray(0, 1000)
  const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('base64')
  const bad = await tusPatch(location, 0, piece, { 'Upload-Checksum': `sha1 ${sha1(Buffer.from('other bytes'))}` })
  t.equal(bad.status, 460)
  t.match(await bad.json(), { message: /Checksum mismatch/ })
  t.equal((await tusOffset(location)).offset, 0, 'the offset did not move')
  const unsupported = await tusPatch(location, 0, piece, { 'Upload-Checksum': `crc32 ${sha1(piece)}` })
  t.equal(unsupported.status, 400)
  t.equal(unsupported.headers.get('tus-resumable'), '1.0.0')
  const good = await tusPatch(location, 0, piece, { 'Upload-Checksum': `sha1 ${sha1(piece)}` })
  t.equal(good.status, 204)
  t.equal(good.headers.get('upload-offset'), '1000')
  const sha256 = createHash('sha256').update(png.subarray(1000, 2000)).digest('base64')
  t.equal((await tusPatch(location, 1000, png.subarray(1000, 2000), { 'Upload-Checksum': `sha256 ${sha256}` })).status, 204)
})

t.test('creation with an Idempotency-Key: a retry gets the same upload, another file with the key a 422', async t => {
  const { base, config } = await serve(t)
  const png = randomPng(5000)
  const key = { 'Idempotency-Key': 'creation-1' }
  const first = await tusCreate(base, { length: png.length, headers: key })
  t.equal(first.status, 201)
  const location = first.headers.get('location')!
  await tusPatch(location, 0, png.subarray(0, 2000))

  const retry = await tusCreate(base, { length: png.length, headers: key })
  t.equal(retry.status, 201)
  t.equal(retry.headers.get('location'), location, 'the same upload')
  t.equal(retry.headers.get('upload-offset'), '2000', 'with its offset')
  t.equal(retry.headers.get('tus-resumable'), '1.0.0')
  t.same((await readdir(join(config.stagingDir, RESUMABLE_DIR))).length, 1, 'no second upload was created')

  const other = await tusCreate(base, { length: png.length, filename: 'other.png', headers: key })
  t.equal(other.status, 422)
  const otherPhone = await tusCreate(base, { length: png.length, phone: '555', headers: key })
  t.equal(otherPhone.status, 201, 'keys are per phone number: another phone may use the same key')
  t.not(otherPhone.headers.get('location'), location)

  // Complete: a retried creation now answers with the upload's outcome.
  t.equal((await tusPatch(location, 2000, png.subarray(2000))).status, 200)
  const late = await tusCreate(base, { length: png.length, headers: key })
  t.equal(late.status, 200)
  t.equal(late.headers.get('location'), location)
  t.equal((await late.json() as UploadBody).results[0]!.upload_id, location.split('/').pop())
  t.equal(await jobCount(config), 1)
})

t.test('an unfinished upload expires after RESUMABLE_UPLOAD_TTL: 410, then swept by the worker', async t => {
  const { base, config } = await serve(t, { RESUMABLE_UPLOAD_TTL: '1' })
  const png = randomPng(4000)
  const location = base + await tusCreated(base, { length: png.length })
  t.equal((await tusPatch(location, 0, png.subarray(0, 1000))).status, 204)
  const partial = join(config.stagingDir, RESUMABLE_DIR, location.split('/').pop()!)
  t.ok(await stat(partial), 'the bytes are in the staging area')
  // Expired before the sweep: tus says 410 Gone.
  const gone = await waitFor(async () => (await tusOffset(location)).status === 410 || (await tusOffset(location)).status === 404, { what: 'the upload to expire' })
  t.ok(gone)
  await waitFor(async () => (await tusOffset(location)).status === 404, { what: 'the worker to sweep the expired upload' })
  t.equal(await stat(partial).catch(() => undefined), undefined, 'its bytes are removed')
  t.equal((await tusPatch(location, 1000, png.subarray(1000))).status, 404)
  t.same(await staged(config), [])
  t.equal(await jobCount(config), 0)
  t.ok(await readFile(join(config.stagingDir, '..', 'never-there')).catch(() => true))
})
