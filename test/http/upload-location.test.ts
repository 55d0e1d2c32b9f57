import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { DropboxContentHasher } from '../../src/core/content-hash.ts'
import { recordId } from '../../src/models/image.ts'
import { build, startWorker } from '../helpers/build.ts'
import { testEnv } from '../helpers/config.ts'
import { dropboxEmulator } from '../helpers/dropbox.ts'
import { fakeJpeg } from '../helpers/images.ts'
import { uploadForm } from '../helpers/multipart.ts'
import { EXTENSIONS, gpsTags, makePhoto, orientationAndMake, pixels, testExifTool, type Format } from '../helpers/photos.ts'
import { jobCount } from '../helpers/queue.ts'
import { tusCreate, tusPatch } from '../helpers/tus.ts'
import type { Config } from '../../src/config.ts'

// Issue 12 §1: a photo's position is not published. Real photos (sharp + ExifTool) go through
// the API; what storage holds is read back with ExifTool and decoded with sharp.

async function tempDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'upload-location-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

const hashOf = (bytes: Buffer): string => new DropboxContentHasher().update(bytes).digest()

/** Staged files (bytes, manifests); folders of other upload routes (tus) are not files. */
async function stagedFiles (config: Config): Promise<string[]> {
  const entries = await readdir(config.stagingDir, { withFileTypes: true }).catch(() => [])
  return entries.filter(e => e.isFile()).map(e => e.name)
}

interface Uploaded { filename: string, upload_id: string, status: string }

async function upload (app: FastifyInstance, files: Array<{ filename: string, content: Buffer }>) {
  return app.inject({ method: 'POST', url: '/api/upload/', ...uploadForm('1234567890', files) })
}

async function recordOf (app: FastifyInstance, uploadId: string) {
  return app.db.images.findById(recordId(uploadId)).lean()
}

t.test('local storage: GPS removed, the rest kept, pixels untouched, the record hashes the stored bytes', async t => {
  const { config, dataDir } = await testEnv(t)
  const app = await build(t, config)
  await startWorker(t, config)
  const exiftool = testExifTool(t)
  const dir = await tempDir(t)
  const formats: Format[] = ['jpeg', 'png', 'webp', 'heic']
  const sent = await Promise.all(formats.map(async format => {
    const path = await makePhoto(exiftool, dir, `photo.${EXTENSIONS[format]}`, format, { xmpGps: format === 'png' })
    return { format, path, content: await readFile(path) }
  }))

  const res = await upload(app, sent.map(s => ({ filename: `photo.${EXTENSIONS[s.format]}`, content: s.content })))
  t.equal(res.statusCode, 200, res.body)
  const results: Uploaded[] = res.json().results
  for (const [i, { format, path, content }] of sent.entries()) {
    const stored = join(dataDir, '1234567890', results[i]!.filename)
    const bytes = await readFile(stored)
    t.same(await gpsTags(exiftool, stored), [], `${format}: no GPS stored`)
    t.same(await orientationAndMake(exiftool, stored), { orientation: 6, make: 'Apple' }, `${format}: Orientation and Make kept`)
    t.ok((await pixels(stored, format)).equals(await pixels(path, format)), `${format}: pixels identical`)
    t.notOk(bytes.equals(content), `${format}: the bytes changed`)
    const record = await recordOf(app, results[i]!.upload_id)
    t.equal(record?.content_hash, hashOf(bytes), `${format}: the record's hash is the stored bytes'`)
    t.equal(record?.size, bytes.length, `${format}: the record's size is the stored bytes'`)
  }
  t.same(await stagedFiles(config), [])
})

t.test('a photo without location is stored byte for byte', async t => {
  const { config, dataDir } = await testEnv(t)
  const app = await build(t, config)
  await startWorker(t, config)
  const exiftool = testExifTool(t)
  const photo = await readFile(await makePhoto(exiftool, await tempDir(t), 'plain.jpg', 'jpeg', { gps: false }))
  const res = await upload(app, [{ filename: 'plain.jpg', content: photo }])
  t.equal(res.statusCode, 200, res.body)
  const [result] = res.json().results as Uploaded[]
  const stored = await readFile(join(dataDir, '1234567890', result!.filename))
  t.ok(stored.equals(photo), 'identical bytes')
  t.equal((await recordOf(app, result!.upload_id))?.content_hash, hashOf(photo))
})

t.test('STRIP_LOCATION=false keeps every file as sent, GPS included', async t => {
  const { config, dataDir } = await testEnv(t, { STRIP_LOCATION: 'false' })
  const app = await build(t, config)
  await startWorker(t, config)
  const exiftool = testExifTool(t)
  const photo = await readFile(await makePhoto(exiftool, await tempDir(t), 'gps.jpg', 'jpeg', { xmpGps: true }))
  const res = await upload(app, [{ filename: 'gps.jpg', content: photo }])
  t.equal(res.statusCode, 200, res.body)
  const [result] = res.json().results as Uploaded[]
  const path = join(dataDir, '1234567890', result!.filename)
  t.ok((await readFile(path)).equals(photo), 'identical bytes')
  t.not((await gpsTags(exiftool, path)).length, 0, 'GPS kept')
})

t.test('a file whose metadata cannot be read is refused with 422 naming it; nothing is staged or queued', async t => {
  const { config } = await testEnv(t)
  const app = await build(t, config)
  const exiftool = testExifTool(t)
  const good = await readFile(await makePhoto(exiftool, await tempDir(t), 'good.jpg', 'jpeg'))
  // An APP1 "Exif" segment whose TIFF structure is garbage.
  const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, 0x00, 0x16]), Buffer.from('Exif\0\0XX*\0garbage!!!', 'latin1')])
  const jpeg = fakeJpeg(2000)
  const broken = Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)])

  const res = await upload(app, [{ filename: 'good.jpg', content: good }, { filename: 'broken.jpg', content: broken }])
  t.equal(res.statusCode, 422, res.body)
  t.match(res.json().message, /^File 'broken\.jpg' could not be checked for location data/)
  t.same(await stagedFiles(config), [], 'nothing staged, the good file neither')
  t.equal(await jobCount(config), 0, 'nothing queued')
})

t.test('Dropbox: the stored file has no GPS and its content hash is the record\'s', async t => {
  const { emulator, env } = await dropboxEmulator(t)
  const { config } = await testEnv(t, env)
  const app = await build(t, config)
  await startWorker(t, config)
  const exiftool = testExifTool(t)
  const dir = await tempDir(t)
  const path = await makePhoto(exiftool, dir, 'gps.jpg', 'jpeg')
  const res = await upload(app, [{ filename: 'gps.jpg', content: await readFile(path) }])
  t.equal(res.statusCode, 200, res.body)
  const [result] = res.json().results as Uploaded[]
  const stored = await emulator.readFile(`/1234567890/${result!.filename}`)
  t.ok(stored, 'in Dropbox')
  const copy = join(dir, 'stored.jpg')
  await writeFile(copy, stored!)
  t.same(await gpsTags(exiftool, copy), [], 'no GPS in Dropbox')
  t.same(await orientationAndMake(exiftool, copy), { orientation: 6, make: 'Apple' })
  t.ok((await pixels(copy, 'jpeg')).equals(await pixels(path, 'jpeg')), 'pixels identical')
  const record = await recordOf(app, result!.upload_id)
  t.equal(record?.content_hash, hashOf(stored!), 'the record holds the stored bytes\' hash (Dropbox verified it)')
})

t.test('the ExifTool pool ends with the app', async t => {
  const { config } = await testEnv(t)
  const app = await build(t, config)
  const exiftool = testExifTool(t)
  // An XMP position is what takes the API's pool into use.
  const photo = await readFile(await makePhoto(exiftool, await tempDir(t), 'xmp.jpg', 'jpeg', { xmpGps: true }))
  await startWorker(t, config)
  const res = await upload(app, [{ filename: 'xmp.jpg', content: photo }])
  t.equal(res.statusCode, 200, res.body)
  t.ok(app.exiftool.spawnedProcs > 0, 'the pool ran ExifTool')
  await app.close()
  t.ok(app.exiftool.ended, 'ended on close')
  t.same(app.exiftool.pids, [], 'no ExifTool process left')
})

t.test('resumable (tus) uploads go through the same step: GPS removed, unreadable metadata refused', async t => {
  const { config, dataDir } = await testEnv(t)
  const app = await build(t, config)
  await app.listen({ port: 0, host: '127.0.0.1' })
  await startWorker(t, config)
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const exiftool = testExifTool(t)
  const dir = await tempDir(t)
  // HEIC and a JPEG: tus's bytes never pass through multipart's in-stream patch.
  for (const format of ['jpeg', 'heic'] as const) {
    const path = await makePhoto(exiftool, dir, `photo.${EXTENSIONS[format]}`, format)
    const content = await readFile(path)
    const res = await tusCreate(base, { filename: `photo.${EXTENSIONS[format]}`, length: content.length, body: content })
    t.equal(res.status, 200, `${format}: stored`)
    const [result] = (await res.json() as { results: Uploaded[] }).results
    const stored = join(dataDir, '1234567890', result!.filename)
    t.same(await gpsTags(exiftool, stored), [], `${format}: no GPS stored`)
    t.same(await orientationAndMake(exiftool, stored), { orientation: 6, make: 'Apple' }, `${format}: Orientation and Make kept`)
    t.equal((await recordOf(app, result!.upload_id))?.content_hash, hashOf(await readFile(stored)), `${format}: the record's hash is the stored bytes'`)
  }
  const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, 0x00, 0x16]), Buffer.from('Exif\0\0XX*\0garbage!!!', 'latin1')])
  const jpeg = fakeJpeg(2000)
  const broken = Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)])
  const created = await tusCreate(base, { filename: 'broken.jpg', length: broken.length })
  t.equal(created.status, 201)
  const refused = await tusPatch(new URL(created.headers.get('location')!, base).toString(), 0, broken)
  t.equal(refused.status, 422)
  t.match(await refused.json(), { message: /^File 'broken\.jpg' could not be checked for location data/ })
  t.equal(await jobCount(config), 2, 'only the two stored uploads were ever queued')
})
