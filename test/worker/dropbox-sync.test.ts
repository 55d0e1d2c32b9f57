// The Dropbox sync in one process: the app (for the lookup) and a worker whose sync runs on a
// short interval, against the Dropbox emulator; and the sync's own steps driven directly, for the
// race between an upload's commit and its record.
import { randomUUID } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { DropboxContentHasher } from '../../src/core/content-hash.ts'
import { waitFor } from '../../scripts/lib/wait-for.ts'
import { syncRecordId } from '../../src/models/image.ts'
import { SyncRecords } from '../../src/worker/dropbox-sync/sync-records.ts'
import { RecordWriter } from '../../src/worker/record-writer.ts'
import { build, startWorker } from '../helpers/build.ts'
import { testEnv } from '../helpers/config.ts'
import { dropboxEmulator } from '../helpers/dropbox.ts'
import { appFilesIn, dropboxRecords, syncHarness } from '../helpers/dropbox-sync.ts'
import { fakeJpeg, randomPng } from '../helpers/images.ts'
import { uploadForm } from '../helpers/multipart.ts'

/** Bytes staged as the API stages them, for storage.put(). */
async function stageFileForTest (dir: string, content: Buffer): Promise<{ stagedPath: string, size: number, contentHash: string }> {
  await mkdir(dir, { recursive: true })
  const stagedPath = join(dir, randomUUID())
  await writeFile(stagedPath, content)
  return { stagedPath, size: content.length, contentHash: new DropboxContentHasher().update(content).digest() }
}

const PHONE = '5551234567'
const INTERVAL_MS = 1000

t.test('outside changes reach the lookup within one interval: a new photo, a rename, a move, a deletion', async t => {
  const { emulator, env } = await dropboxEmulator(t)
  const { config } = await testEnv(t, { ...env, DROPBOX_SYNC_INTERVAL_MS: String(INTERVAL_MS) })
  const app = await build(t, config)
  await startWorker(t, config)
  const lookup = async (phone: string) => {
    const res = await app.inject({ method: 'GET', url: `/api/get-phone/?phone_number=${phone}` })
    return res.statusCode === 200 ? res.json().image_urls as Record<string, string> : {}
  }
  const lookupWith = async (phone: string, name: string) => {
    const urls = await lookup(phone)
    return urls[name] !== undefined ? urls : undefined
  }

  // Not the app's: another file type, a folder that is no phone number (or not its canonical
  // form), a subfolder. Added first, so once the photo is in, they have been seen too.
  await emulator.addFile(`/${PHONE}/notes.txt`, 'not an image')
  await emulator.addFile('/holiday/beach.jpg', fakeJpeg())
  await emulator.addFile('/+1 555 123/plus.jpg', fakeJpeg())
  await emulator.addFile(`/${PHONE}/sub/deeper.jpg`, fakeJpeg())
  const photo = fakeJpeg(3000)
  const added = await emulator.addFile(`/${PHONE}/From The App.JPG`, photo)
  const before = Date.now()
  const urls = await waitFor(() => lookupWith(PHONE, 'From The App.JPG'), { what: 'the outside photo in the lookup', timeoutMs: 4 * INTERVAL_MS + 5000 })
  t.ok(Date.now() - before < 2 * INTERVAL_MS + 3000, 'within about one interval')
  t.same(Object.keys(urls), ['From The App.JPG'], 'only the image in the phone folder')
  const link = new URL(urls['From The App.JPG']!)
  t.equal(link.searchParams.get('raw'), '1', 'a raw shared link, as uploads get')
  t.same(Buffer.from(await (await emulator.download(link.href)).arrayBuffer()), photo, 'the link serves the photo')
  const record = await app.db.images.findOne({ dropbox_id: added.id }).lean()
  t.match(record, {
    _id: syncRecordId(added.id),
    phone_number: PHONE,
    file_name: 'From The App.JPG',
    storage: 'dropbox',
    storage_path: `/${PHONE}/From The App.JPG`,
    size: photo.length,
    content_type: 'image/jpeg',
    content_hash: added.content_hash,
    source: 'dropbox-sync'
  })
  t.equal(record?.uploaded_at.toISOString().replace('.000', ''), added.server_modified, 'uploaded_at is server_modified')
  t.equal(await app.db.images.countDocuments(), 1, 'nothing recorded for the other files')

  // Renamed: the same record (matched by Dropbox id), its name, path and link updated.
  emulator.movePath(`/${PHONE}/From The App.JPG`, `/${PHONE}/renamed.jpg`)
  const renamed = await waitFor(() => lookupWith(PHONE, 'renamed.jpg'), { what: 'the rename in the lookup', timeoutMs: 4 * INTERVAL_MS + 5000 })
  t.same(Object.keys(renamed), ['renamed.jpg'])
  t.same(Buffer.from(await (await emulator.download(renamed['renamed.jpg']!)).arrayBuffer()), photo, 'the link still serves the photo')
  const after = await app.db.images.findOne({ dropbox_id: added.id }).lean()
  t.same(after?._id, record?._id, 'the same record')
  t.equal(after?.storage_path, `/${PHONE}/renamed.jpg`)

  // Moved to another number's folder.
  emulator.movePath(`/${PHONE}/renamed.jpg`, '/5559876543/moved.jpg')
  await waitFor(() => lookupWith('5559876543', 'moved.jpg'), { what: 'the move in the lookup', timeoutMs: 4 * INTERVAL_MS + 5000 })
  t.same(await lookup(PHONE), {}, 'gone from the first number')
  t.equal((await app.inject({ method: 'GET', url: `/api/get-phone/?phone_number=${PHONE}` })).statusCode, 404)

  // Deleted: the record goes, and the audit trail says so.
  emulator.deletePath('/5559876543/moved.jpg')
  await waitFor(async () => (await app.inject({ method: 'GET', url: '/api/get-phone/?phone_number=5559876543' })).statusCode === 404, { what: 'the deletion in the lookup', timeoutMs: 4 * INTERVAL_MS + 5000 })
  t.equal(await app.db.images.countDocuments(), 0, 'no record left')
  const events = await app.db.connection.collection('audit_events').find({ actor: 'dropbox-sync' }).toArray()
  t.equal(events.length, 1, 'one audit event')
  t.match(events[0], { action: 'image.deleted', target: record?._id.toHexString(), details: { storage_path: '/5559876543/moved.jpg', reason: 'deleted in Dropbox' } })
})

t.test('our own uploads are recognised: never a second record, not on a full re-list either', async t => {
  const { emulator, env } = await dropboxEmulator(t)
  const { config } = await testEnv(t, { ...env, DROPBOX_SYNC_INTERVAL_MS: String(INTERVAL_MS) })
  const app = await build(t, config)
  await startWorker(t, config)
  const sync = await syncHarness(t, config)
  const files = [randomPng(3000), randomPng(4000), randomPng(5000)]
  for (const [i, content] of files.entries()) {
    const res = await app.inject({ method: 'POST', url: '/api/upload/', ...uploadForm(PHONE, [{ filename: `mine${i}.png`, content }]) })
    t.equal(res.statusCode, 200, res.body)
  }
  const ids = (await app.db.images.find({}, { dropbox_id: 1 }).lean()).map(r => r.dropbox_id)
  t.equal(ids.length, 3)
  t.ok(ids.every(id => typeof id === 'string' && id.startsWith('id:')), 'every upload records its Dropbox id')

  // Runs of the worker's sync see the uploads (the first listing, then the changes); and a full
  // re-list after Dropbox resets the cursor sees them again.
  const status = async () => (await app.dropboxSync.status()).last
  const firstRun = await waitFor(status, { what: 'a sync run', timeoutMs: 10_000 })
  await waitFor(async () => (await status())!.finishedAt !== firstRun.finishedAt, { what: 'a second sync run', timeoutMs: 10_000 })
  emulator.resetCursors()
  const relist = await sync.run()
  t.equal(relist.fullListing, true, 'the reset cursor led to a full listing')
  t.match(relist, { created: 0, deleted: 0, updated: 0 })
  t.equal(await app.db.images.countDocuments(), 3, 'three uploads, three records')
  t.equal(await app.db.images.countDocuments({ source: 'dropbox-sync' }), 0, 'none made by the sync')
  t.same(await dropboxRecords(sync.db), appFilesIn(emulator), 'the records mirror Dropbox')
})

t.test('a full re-list after a reset removes the records of files deleted meanwhile, and adopts old records', async t => {
  const { emulator, env } = await dropboxEmulator(t)
  const { config } = await testEnv(t, env)
  const sync = await syncHarness(t, config)
  const kept = await emulator.addFile(`/${PHONE}/kept.jpg`, fakeJpeg())
  const doomed = await emulator.addFile(`/${PHONE}/doomed.jpg`, fakeJpeg())
  const first = await sync.run()
  t.match(first, { fullListing: true, created: 2, pages: 1 })

  // A record from before ids were kept (an upload of an older version): matched by path and hash.
  const old = await emulator.addFile('/5550001111/old-upload.png', randomPng())
  await sync.db.images.collection.insertOne({
    phone_number: '5550001111',
    file_name: 'old-upload.png',
    image_url: 'https://www.dropbox.com/scl/fi/x/old-upload.png?rlkey=k&raw=1',
    uploaded_at: new Date(),
    storage: 'dropbox',
    storage_path: '/5550001111/old-upload.png',
    size: old.size,
    content_type: 'image/png',
    content_hash: old.content_hash
  })
  // A record whose file went while no cursor could tell (the cursor is reset below).
  emulator.deletePath(doomed.path_display)
  emulator.resetCursors()
  const relist = await sync.run()
  t.match(relist, { fullListing: true, created: 0, deleted: 1 })
  t.same(await dropboxRecords(sync.db), appFilesIn(emulator), 'records mirror Dropbox')
  t.equal((await sync.db.images.findOne({ storage_path: '/5550001111/old-upload.png' }).lean())?.dropbox_id, old.id, 'the old record adopted its file id')
  t.equal(await sync.db.images.countDocuments({ dropbox_id: kept.id }), 1)
  const events = await sync.audit.find({}).lean()
  t.equal(events.length, 1)
  t.match(events[0], { actor: 'dropbox-sync', details: { storage_path: doomed.path_display } })

  // Nothing changed since: the next run reads one page of (no) changes and writes nothing.
  const calm = await sync.run()
  t.match(calm, { fullListing: false, pages: 1, created: 0, updated: 0, deleted: 0 })
})

t.test('a file overwritten in Dropbox keeps its record, with the new size and hash', async t => {
  const { emulator, env } = await dropboxEmulator(t)
  const { config } = await testEnv(t, env)
  const sync = await syncHarness(t, config)
  const first = await emulator.addFile(`/${PHONE}/edited.jpg`, fakeJpeg(1000))
  await sync.run()
  const before = await sync.db.images.findOne({ dropbox_id: first.id }).lean()
  const edited = await emulator.addFile(`/${PHONE}/edited.jpg`, fakeJpeg(2000), { mode: 'overwrite' })
  t.equal(edited.id, first.id, 'Dropbox keeps the id')
  t.match(await sync.run(), { updated: 1, created: 0, deleted: 0 })
  const after = await sync.db.images.findOne({ dropbox_id: first.id }).lean()
  t.same(after?._id, before?._id)
  t.match(after, { size: 2000, content_hash: edited.content_hash, image_url: before?.image_url })
})

t.test('the race: a sync between a worker\'s commit and its record leaves one record', async t => {
  const { emulator, env } = await dropboxEmulator(t)
  const { config, stagingDir } = await testEnv(t, env)
  const sync = await syncHarness(t, config)
  const writer = new RecordWriter(sync.db.images)
  const uploadRecord = (stored: { path: string, name: string, size: number, contentHash: string, id?: string }, uploadId: string) => writer.insert({
    _id: syncRecordId(`upload-${uploadId}`),
    phone_number: PHONE,
    file_name: stored.name,
    image_url: 'https://www.dropbox.com/scl/fi/u/x?rlkey=k&raw=1',
    uploaded_at: new Date(),
    storage: 'dropbox',
    storage_path: stored.path,
    size: stored.size,
    content_type: 'image/png',
    content_hash: stored.contentHash,
    dropbox_id: stored.id
  }, { replacesSyncRecord: true })
  await sync.run()

  t.test('the worker marked the file: the sync leaves it to the worker', async t => {
    const staged = await stageFileForTest(stagingDir, randomPng())
    await sync.state.markCommitting(PHONE, staged.contentHash)
    const stored = await sync.storage.put({ ...staged, folder: PHONE, name: 'marked.png' })
    const during = await sync.run()
    t.match(during, { created: 0, deferred: 1 }, 'left for later')
    t.equal(await sync.db.images.countDocuments({ dropbox_id: stored.id }), 0, 'no record from the sync')
    await uploadRecord(stored, 'marked')
    await sync.state.unmarkCommitting(PHONE, staged.contentHash)
    const after = await sync.run()
    t.match(after, { created: 0 })
    t.equal(await sync.db.images.countDocuments({ dropbox_id: stored.id }), 1, 'one record: the upload\'s')
    t.same(await sync.state.deferred(), [], 'nothing left deferred')
  })

  t.test('the worker died before recording (its mark gone): the sync records the file, the worker\'s late record replaces it', async t => {
    const staged = await stageFileForTest(stagingDir, randomPng())
    const stored = await sync.storage.put({ ...staged, folder: PHONE, name: 'late.png' })
    const during = await sync.run()
    t.match(during, { created: 1 })
    t.equal(await sync.db.images.countDocuments({ dropbox_id: stored.id, source: 'dropbox-sync' }), 1, 'the sync recorded it')
    await uploadRecord(stored, 'late')
    const records = await sync.db.images.find({ dropbox_id: stored.id }).lean()
    t.equal(records.length, 1, 'one record')
    t.equal(records[0]?.source, undefined, 'the upload\'s')
  })

  t.test('a marked file whose worker never records it gets a record once the mark is gone', async t => {
    const staged = await stageFileForTest(stagingDir, randomPng())
    await sync.state.markCommitting(PHONE, staged.contentHash)
    const stored = await sync.storage.put({ ...staged, folder: PHONE, name: 'orphan.png' })
    t.match(await sync.run(), { deferred: 1, created: 0 })
    await sync.state.unmarkCommitting(PHONE, staged.contentHash)
    t.match(await sync.run(), { created: 1 })
    t.equal(await sync.db.images.countDocuments({ dropbox_id: stored.id }), 1)
  })

  t.test('the worker records the file just before the sync inserts its own: the sync\'s goes again', async t => {
    const added = await emulator.addFile(`/${PHONE}/between.png`, randomPng())
    // The worker's record lands after the sync looked (none found) and before it inserted: as if
    // the record appeared between the two steps, it is written behind the RecordWriter's back.
    await sync.db.images.collection.insertOne({
      phone_number: PHONE,
      file_name: 'between.png',
      image_url: 'https://www.dropbox.com/scl/fi/u/between.png?rlkey=k&raw=1',
      uploaded_at: new Date(),
      storage: 'dropbox',
      storage_path: added.path_display,
      size: added.size,
      content_type: 'image/png',
      content_hash: added.content_hash,
      dropbox_id: added.id
    })
    const records = new SyncRecords(sync.db.images, sync.audit, pino({ level: 'silent' }))
    const file = { id: added.id, path: added.path_display, pathLower: added.path_lower, name: added.name, size: added.size, contentHash: added.content_hash, serverModified: new Date() }
    await records.create([{ file, app: { phoneNumber: PHONE, fileName: added.name, type: { mime: 'image/png', ext: '.png', exts: ['.png'] } }, url: 'https://example.test/x' }])
    t.equal(records.counts.created, 0, 'not counted as created')
    t.equal(await sync.db.images.countDocuments({ dropbox_id: added.id }), 1, 'one record: the upload\'s')
  })

  t.same(await dropboxRecords(sync.db), appFilesIn(emulator), 'in the end the records mirror Dropbox')
})
