import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Types } from 'mongoose'
import t from 'tap'
import { startFerretDB } from '../../scripts/lib/services.ts'
import { openDatabase } from '../../src/models/connect.ts'
import { RecordWriter, type ImageDocument } from '../../src/worker/record-writer.ts'
import { testEnv } from '../helpers/config.ts'

const record = (name: string, _id = new Types.ObjectId()): ImageDocument => ({
  _id,
  phone_number: '42',
  file_name: name,
  image_url: `http://x/${name}`,
  uploaded_at: new Date(),
  storage: 'local',
  storage_path: `/42/${name}`,
  size: 1,
  content_type: 'image/png',
  content_hash: 'h'
})

t.test('records written together all land, and a record written twice stays the first one', async t => {
  const { config } = await testEnv(t)
  const db = await openDatabase(config.mongodbUrl)
  t.teardown(() => db.connection.close())
  const writer = new RecordWriter(db.images, 16)

  const many = Array.from({ length: 50 }, (_, i) => record(`${i}.png`))
  await Promise.all(many.map(doc => writer.insert(doc)))
  t.equal(await db.images.countDocuments({}), 50)

  // A retried job writes its record again, alone or among new ones: no error, no change.
  const again = { ...many[0]!, file_name: 'changed.png' }
  const fresh = record('fresh.png')
  await Promise.all([writer.insert(again), writer.insert(fresh)])
  t.equal((await db.images.findById(many[0]!._id).lean())?.file_name, '0.png')
  t.equal(await db.images.countDocuments({}), 51)

  await t.rejects(writer.insert({ ...record('bad.png'), phone_number: '1'.repeat(20) }), /phone_number/, 'an invalid record is refused, not skipped')
  t.equal(await db.images.countDocuments({}), 51)
})

t.test('a batch that could not be written fails every record in it', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'record-writer-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const ferret = await startFerretDB(dir, 'writer')
  t.teardown(() => ferret.stop())
  const db = await openDatabase(ferret.url)
  t.teardown(() => db.connection.close())
  await ferret.stop()
  const writer = new RecordWriter(db.images)
  const results = await Promise.allSettled([writer.insert(record('a.png')), writer.insert(record('b.png'))])
  t.same(results.map(r => r.status), ['rejected', 'rejected'])
})
