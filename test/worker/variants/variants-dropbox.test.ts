// The renderings through Dropbox (the emulator): the upload worker queues them, the variant worker
// reads the original with files/download, writes them under /.variants/<upload id>/ (where the
// Dropbox sync never looks), and the stable URLs stream them back, ranges included. No shared
// link is made for any of it.
import { Types } from 'mongoose'
import sharp from 'sharp'
import t from 'tap'
import { waitFor } from '../../../scripts/lib/wait-for.ts'
import { deleteImages } from '../../../src/admin/images/delete.ts'
import { build, startVariantWorker, startWorker } from '../../helpers/build.ts'
import { testEnv } from '../../helpers/config.ts'
import { dropboxEmulator } from '../../helpers/dropbox.ts'
import { uploadForm } from '../../helpers/multipart.ts'

t.test('variants of a Dropbox-stored image: made from files/download, stored in /.variants, served by the stable URLs', async t => {
  const { emulator, env } = await dropboxEmulator(t)
  const { config } = await testEnv(t, { ...env, STRIP_LOCATION: 'false' })
  const app = await build(t, config)
  await Promise.all([startWorker(t, config), startVariantWorker(t, config)])

  const photo = await sharp({ create: { width: 3000, height: 2000, channels: 3, background: '#c63' } }).jpeg({ quality: 90 }).toBuffer()
  const res = await app.inject({ method: 'POST', url: '/api/upload/', ...uploadForm('4155550100', [{ filename: 'trip.jpg', content: photo }]) })
  t.equal(res.statusCode, 200, res.body)
  const result = res.json().results[0]
  const id = result.upload_id as string
  t.match(result.image_url, /^https:\/\/www\.dropbox\.com\//, 'image_url: the raw Dropbox link, as the contract has it')

  const record = await waitFor(async () => {
    const r = await app.db.images.findById(id).lean()
    return r?.variants?.status === 'ready' ? r : undefined
  }, { what: 'the variants' })
  const paths = emulator.files().map(f => f.path_display).filter(p => p.startsWith('/.variants/')).sort()
  t.same(paths, [`/.variants/${id}/display.jpg`, `/.variants/${id}/thumbnail.webp`], 'stored in the dot folder')
  t.match(record.variants, { display: { width: 2048, height: 1365, content_type: 'image/jpeg' }, thumbnail: { width: 320, height: 213, content_type: 'image/webp' } })

  const links = emulator.counters.calls['sharing/create_shared_link_with_settings'] ?? 0
  const display = await app.inject({ method: 'GET', url: `/i/${id}/display` })
  t.equal(display.statusCode, 200)
  t.same(display.rawPayload, await emulator.readFile(`/.variants/${id}/display.jpg`), 'the bytes Dropbox holds')
  t.equal(display.headers.etag, `"${record.variants?.display?.content_hash}"`)
  const original = await app.inject({ method: 'GET', url: `/i/${id}`, headers: { range: 'bytes=2-11' } })
  t.equal(original.statusCode, 206)
  t.same(original.rawPayload, photo.subarray(2, 12), 'a range of the original, through Dropbox')
  t.equal(original.headers['content-range'], `bytes 2-11/${photo.length}`)
  t.equal(emulator.counters.calls['sharing/create_shared_link_with_settings'] ?? 0, links, 'no shared link was asked for to serve them')

  // Deleting the image deletes its renderings from Dropbox too.
  const [outcome] = await deleteImages(app.db.images, app.storage, [new Types.ObjectId(id)], true)
  t.match(outcome, { recordDeleted: true, file: 'deleted' })
  t.same(emulator.files().filter(f => f.path_lower.startsWith('/.variants/')).map(f => f.path_display), [], 'no rendering left')
  t.equal((await app.inject({ method: 'GET', url: `/i/${id}/thumbnail` })).statusCode, 404)
})
