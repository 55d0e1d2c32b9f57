// The stable image URLs (GET /i/{upload_id}[/display|/thumbnail]) over local storage, end to end:
// upload, the upload worker queues the renderings, the variant worker makes them, the URLs serve
// them with ETag, Range, 304 and 404; the admin's delete takes them away.
import { access, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { Types } from 'mongoose'
import sharp from 'sharp'
import t from 'tap'
import { waitFor } from '../../scripts/lib/wait-for.ts'
import { deleteImages } from '../../src/admin/images/delete.ts'
import { DropboxContentHasher } from '../../src/core/content-hash.ts'
import { build, startVariantWorker, startWorker } from '../helpers/build.ts'
import { testEnv } from '../helpers/config.ts'
import { randomPng } from '../helpers/images.ts'
import { uploadForm } from '../helpers/multipart.ts'

const IMMUTABLE = 'public, max-age=31536000, immutable'

/** Landscape as stored, portrait as shown (EXIF Orientation 6). */
async function orientedJpeg (): Promise<Buffer> {
  const raw = Buffer.alloc(1200 * 800 * 3)
  for (let i = 0; i < 1200 * 800; i++) raw.set(i % 1200 < 600 ? [220, 20, 20] : [20, 20, 220], i * 3)
  return sharp(raw, { raw: { width: 1200, height: 800, channels: 3 } }).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toBuffer()
}

function damagedPng (): Buffer {
  const png = randomPng(30_000)
  png.fill(0x55, 200, 400)
  return png
}

async function uploadOne (app: FastifyInstance, phone: string, filename: string, content: Buffer) {
  const res = await app.inject({ method: 'POST', url: '/api/upload/', ...uploadForm(phone, [{ filename, content }]) })
  if (res.statusCode !== 200) throw new Error(`upload answered ${res.statusCode}: ${res.body}`)
  return res.json().results[0] as { upload_id: string, filename: string, image_url: string, urls: Record<string, string> }
}

const get = (app: FastifyInstance, url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers })

/** GET url until it answers `status`; that answer. */
const answerWith = (app: FastifyInstance, url: string, status: number, what: string) =>
  waitFor(async () => { const r = await get(app, url); return r.statusCode === status ? r : undefined }, { what })

t.test('an upload gets stable URLs: the original at once, its renderings once the variant worker has made them', async t => {
  const { config, dataDir } = await testEnv(t, { STRIP_LOCATION: 'false' })
  const app = await build(t, config)
  await startWorker(t, config)
  const photo = await orientedJpeg()
  const stored = await uploadOne(app, '5550001', 'photo.jpg', photo)
  const id = stored.upload_id
  t.same(stored.urls, { original: `http://localhost:3000/i/${id}`, display: `http://localhost:3000/i/${id}/display`, thumbnail: `http://localhost:3000/i/${id}/thumbnail` })
  t.match(stored.image_url, /^http:\/\/localhost:3000\/files\/5550001\//, 'image_url as it always was')

  // The original: the stored bytes, cacheable for good, under its content hash.
  const hash = new DropboxContentHasher().update(photo).digest()
  const original = await get(app, `/i/${id}`)
  t.equal(original.statusCode, 200)
  t.same(original.rawPayload, photo, 'byte for byte')
  t.match(original.headers, {
    'content-type': 'image/jpeg',
    'content-length': String(photo.length),
    etag: `"${hash}"`,
    'cache-control': IMMUTABLE,
    'accept-ranges': 'bytes',
    'x-content-type-options': 'nosniff'
  })

  // No variant worker yet: the renderings are "being made".
  for (const variant of ['display', 'thumbnail']) {
    const early = await get(app, `/i/${id}/${variant}`)
    t.equal(early.statusCode, 503, `${variant} before it is made`)
    t.equal(early.headers['retry-after'], '3')
    t.equal(early.headers['cache-control'], 'no-store', 'no cache keeps the "not yet"')
    t.same(early.json(), { message: `The ${variant} rendering of this image is being made. Retry in a few seconds.` })
  }

  await startVariantWorker(t, config)
  const display = await answerWith(app, `/i/${id}/display`, 200, 'the display rendering')
  const record = await app.db.images.findById(id).lean()
  t.equal(record?.variants?.status, 'ready')
  t.match(display.headers, { 'content-type': 'image/jpeg', etag: `"${record?.variants?.display?.content_hash}"`, 'cache-control': IMMUTABLE, 'x-content-type-options': 'nosniff' })
  const shown = await sharp(display.rawPayload).metadata()
  t.match(shown, { format: 'jpeg', width: 800, height: 1200 }, 'upright: portrait')
  const thumbnail = await get(app, `/i/${id}/thumbnail`)
  t.equal(thumbnail.statusCode, 200)
  t.equal(thumbnail.headers['content-type'], 'image/webp')
  t.match(await sharp(thumbnail.rawPayload).metadata(), { format: 'webp', width: 213, height: 320 })
  // Local storage keeps them in a dot folder, which /files never serves.
  await access(join(dataDir, '.variants', id, 'display.jpg'))
  await access(join(dataDir, '.variants', id, 'thumbnail.webp'))
  t.equal((await get(app, `/files/.variants/${id}/display.jpg`)).statusCode >= 400, true, '/files does not serve the dot folder')

  // The other answers carry the URLs too.
  const status = await get(app, `/api/uploads/${id}`)
  t.same(status.json().urls, stored.urls, 'GET /api/uploads/{id}')
  const older = await uploadOne(app, '5550001', 'second.png', randomPng())
  const lookup = (await get(app, '/api/get-phone/?phone_number=5550001')).json()
  t.same(lookup.images.map((i: { upload_id: string }) => i.upload_id), [older.upload_id, id], 'newest first')
  t.same(lookup.images[1], { upload_id: id, file_name: stored.filename, image_url: stored.image_url, uploaded_at: lookup.images[1].uploaded_at, urls: stored.urls })
  t.same(lookup.image_urls, { [older.filename]: older.image_url, [stored.filename]: stored.image_url }, 'image_urls unchanged')

  // The admin deletes the image: its renderings go with it, every URL answers 404.
  const [outcome] = await deleteImages(app.db.images, app.storage, [new Types.ObjectId(id)], true)
  t.match(outcome, { recordDeleted: true, file: 'deleted' })
  await t.rejects(access(join(dataDir, '.variants', id)), 'the renderings are gone from storage')
  for (const url of [`/i/${id}`, `/i/${id}/display`, `/i/${id}/thumbnail`]) {
    const gone = await get(app, url)
    t.equal(gone.statusCode, 404, url)
    t.same(gone.json(), { message: 'Image not found.' })
    t.equal(gone.headers['cache-control'], 'no-store')
  }
})

t.test('an image that cannot be rendered keeps its upload; its rendering URLs answer 404 saying why', async t => {
  const { config } = await testEnv(t, { STRIP_LOCATION: 'false' })
  const app = await build(t, config)
  await Promise.all([startWorker(t, config), startVariantWorker(t, config)])
  const bytes = damagedPng()
  const stored = await uploadOne(app, '5550002', 'broken.png', bytes)
  const answer = await answerWith(app, `/i/${stored.upload_id}/thumbnail`, 404, 'the rendering to fail')
  t.match(answer.json().message, /^This image has no thumbnail rendering: the image data is damaged or unreadable \(.+\)\.$/)
  t.equal((await get(app, `/i/${stored.upload_id}/display`)).statusCode, 404)
  const original = await get(app, `/i/${stored.upload_id}`)
  t.equal(original.statusCode, 200, 'the upload stands')
  t.same(original.rawPayload, bytes)
  const record = await app.db.images.findById(stored.upload_id).lean()
  t.match(record?.variants, { status: 'failed', reason: /damaged or unreadable/ })
})

t.test('an image stored before renderings existed gets them on its first request (and by the backfill)', async t => {
  const { config, dataDir } = await testEnv(t, { STRIP_LOCATION: 'false' })
  const app = await build(t, config)
  const bytes = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#2a6' } }).png().toBuffer()
  await mkdir(join(dataDir, '5550003'), { recursive: true })
  await writeFile(join(dataDir, '5550003', 'old.png'), bytes)
  const _id = new Types.ObjectId()
  await app.db.images.create({
    _id,
    phone_number: '5550003',
    file_name: 'old.png',
    image_url: 'http://localhost:3000/files/5550003/old.png',
    uploaded_at: new Date('2024-01-01'),
    storage: 'local',
    storage_path: '/5550003/old.png',
    size: bytes.length,
    content_type: 'image/png',
    content_hash: new DropboxContentHasher().update(bytes).digest()
  })
  const first = await get(app, `/i/${_id.toHexString()}/thumbnail`)
  t.equal(first.statusCode, 503, 'not made yet: asked for')
  await startVariantWorker(t, config)
  const made = await answerWith(app, `/i/${_id.toHexString()}/thumbnail`, 200, 'the lazily queued rendering')
  t.match(await sharp(made.rawPayload).metadata(), { width: 320, height: 240 })
})

t.test('Range, If-None-Match, If-Range and HEAD on the image URLs', async t => {
  const { config } = await testEnv(t, { STRIP_LOCATION: 'false' })
  const app = await build(t, config)
  await Promise.all([startWorker(t, config), startVariantWorker(t, config)])
  const bytes = randomPng(20_000)
  const { upload_id: id } = await uploadOne(app, '5550004', 'range.png', bytes)
  const etag = (await get(app, `/i/${id}`)).headers.etag as string

  const part = await get(app, `/i/${id}`, { range: 'bytes=100-1123' })
  t.equal(part.statusCode, 206)
  t.equal(part.headers['content-range'], `bytes 100-1123/${bytes.length}`)
  t.equal(part.headers['content-length'], '1024')
  t.same(part.rawPayload, bytes.subarray(100, 1124))
  const tail = await get(app, `/i/${id}`, { range: 'bytes=-10' })
  t.same(tail.rawPayload, bytes.subarray(-10), 'a suffix range')
  const open = await get(app, `/i/${id}`, { range: `bytes=${bytes.length - 5}-` })
  t.same(open.rawPayload, bytes.subarray(-5), 'an open range')

  const past = await get(app, `/i/${id}`, { range: `bytes=${bytes.length}-` })
  t.equal(past.statusCode, 416)
  t.equal(past.headers['content-range'], `bytes */${bytes.length}`)
  t.match(past.json().message, /outside the image's/)

  t.equal((await get(app, `/i/${id}`, { range: 'bytes=0-1,5-9' })).statusCode, 200, 'several ranges: the whole file')
  t.equal((await get(app, `/i/${id}`, { range: 'bytes=0-9', 'if-range': '"other"' })).statusCode, 200, 'If-Range of other bytes: the whole file')
  t.equal((await get(app, `/i/${id}`, { range: 'bytes=0-9', 'if-range': etag })).statusCode, 206, 'If-Range of these bytes: the range')

  const cached = await get(app, `/i/${id}`, { 'if-none-match': etag })
  t.equal(cached.statusCode, 304)
  t.equal(cached.rawPayload.length, 0)
  t.equal(cached.headers.etag, etag)
  t.equal((await get(app, `/i/${id}`, { 'if-none-match': `"x", W/${etag}` })).statusCode, 304, 'weak comparison, in a list')
  t.equal((await get(app, `/i/${id}`, { 'if-none-match': '"x"' })).statusCode, 200)

  const head = await app.inject({ method: 'HEAD', url: `/i/${id}` })
  t.equal(head.statusCode, 200)
  t.equal(head.headers['content-length'], String(bytes.length))
  t.equal(head.rawPayload.length, 0)

  // The same on a rendering, once made.
  const thumb = await answerWith(app, `/i/${id}/thumbnail`, 200, 'the thumbnail')
  const again = await get(app, `/i/${id}/thumbnail`, { 'if-none-match': thumb.headers.etag as string })
  t.equal(again.statusCode, 304)
  const first10 = await get(app, `/i/${id}/thumbnail`, { range: 'bytes=0-9' })
  t.equal(first10.statusCode, 206)
  t.same(first10.rawPayload, thumb.rawPayload.subarray(0, 10))

  t.equal((await get(app, '/i/not-an-id')).statusCode, 400)
  t.equal((await get(app, `/i/${id}/poster`)).statusCode, 400, 'no such rendering')
  t.equal((await get(app, `/i/${new Types.ObjectId().toHexString()}`)).statusCode, 404)
})

t.test('the image URLs stay public when the API requires keys', async t => {
  const { config, dataDir } = await testEnv(t, { STRIP_LOCATION: 'false', API_AUTH: 'required' })
  const app = await build(t, config)
  const bytes = randomPng()
  await mkdir(join(dataDir, '5550005'), { recursive: true })
  await writeFile(join(dataDir, '5550005', 'p.png'), bytes)
  const _id = new Types.ObjectId()
  await app.db.images.create({
    _id,
    phone_number: '5550005',
    file_name: 'p.png',
    image_url: 'http://localhost:3000/files/5550005/p.png',
    storage: 'local',
    storage_path: '/5550005/p.png',
    size: bytes.length,
    content_type: 'image/png',
    content_hash: new DropboxContentHasher().update(bytes).digest()
  })
  t.equal((await get(app, '/api/get-phone/?phone_number=5550005')).statusCode, 401, 'the API wants a key')
  const image = await get(app, `/i/${_id.toHexString()}`)
  t.equal(image.statusCode, 200, 'the image URL does not')
  t.same(image.rawPayload, bytes)
})
