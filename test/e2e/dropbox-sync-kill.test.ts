// A worker process killed (SIGKILL) in the middle of a sync over many files, Dropbox changed from
// outside while it is down, a new worker started: the records converge to Dropbox's files, each
// once, and each deletion is audited once.
import t, { type Test } from 'tap'
import { createConnection } from 'mongoose'
import { SERVICE_NODE_FLAGS, spawnNode, type NodeChild } from '../../scripts/lib/spawn.ts'
import { waitFor } from '../../scripts/lib/wait-for.ts'
import { imageModel } from '../../src/models/image.ts'
import { testEnv } from '../helpers/config.ts'
import { dropboxEmulator } from '../helpers/dropbox.ts'
import { appFilesIn, dropboxRecords, fillDropbox } from '../helpers/dropbox-sync.ts'
import { fakeJpeg } from '../helpers/images.ts'

// Two pages of listing (2,000 entries each at most), each file a shared-link call of 20 ms.
const FILES = 2400
const FOLDERS = 40

function spawnWorker (t: Test, env: Record<string, string>): NodeChild {
  const child = spawnNode('worker', 'workers/upload-worker.ts', { env: { ...process.env, ...env }, nodeArgs: SERVICE_NODE_FLAGS })
  t.teardown(() => child.stop(0))
  return child
}

t.test('a sync killed mid-way and run again converges to the same records', async t => {
  const { emulator, env: dropboxEnv } = await dropboxEmulator(t, { latencyMs: 20 })
  const { env } = await testEnv(t, {
    ...dropboxEnv,
    DROPBOX_SYNC_INTERVAL_MS: '1000',
    // A killed worker's sync lease (and its job) are free again within two seconds.
    WORKER_LOCK_MS: '2000',
    WORKER_STALLED_CHECK_MS: '1000',
    LOG_LEVEL: 'info'
  })
  await fillDropbox(emulator, { files: FILES, folders: FOLDERS })
  const db = await createConnection(env.MONGODB_URL!).asPromise()
  t.teardown(() => db.close())
  const images = imageModel(db)

  const first = spawnWorker(t, env)
  // The first page is recorded; the second is being read and linked: kill it there.
  const atKill = await waitFor(async () => {
    const n = await images.countDocuments()
    return n > 0 ? n : undefined
  }, { what: 'the first page of records', timeoutMs: 60_000, intervalMs: 20 })
  first.process.kill('SIGKILL')
  await first.exited
  const recorded = await images.countDocuments()
  t.ok(atKill < FILES && recorded < FILES, `killed mid-way: ${recorded} of ${FILES} files recorded`)

  // Dropbox changes while no worker runs: a recorded file deleted, one renamed, one added.
  const [gone, renamed] = await images.find({}, { storage_path: 1, dropbox_id: 1 }).sort({ storage_path: 1 }).limit(2).lean()
  emulator.deletePath(gone!.storage_path)
  emulator.movePath(renamed!.storage_path, '/5550000001/renamed while down.jpg')
  await emulator.addFile('/5559990000/added while down.jpg', fakeJpeg())

  const second = spawnWorker(t, env)
  const expected = appFilesIn(emulator)
  t.equal(expected.length, FILES, 'Dropbox holds as many images as before (one gone, one added)')
  await waitFor(async () => JSON.stringify(await dropboxRecords({ connection: db, images })) === JSON.stringify(expected), {
    what: 'the records to mirror Dropbox', timeoutMs: 90_000, intervalMs: 500
  })
  const records = await dropboxRecords({ connection: db, images })
  t.same(records, expected, 'one record per file, with its id, path and hash')
  t.equal(new Set(records.map(r => r.id)).size, records.length, 'no file recorded twice')
  t.equal((await images.findOne({ dropbox_id: renamed!.dropbox_id }).lean())?._id.toHexString(), renamed!._id.toHexString(), 'the renamed file kept its record')
  const deletions = await db.collection('audit_events').find({ actor: 'dropbox-sync', action: 'image.deleted' }).toArray()
  t.equal(deletions.length, 1, 'the deletion audited once')
  t.equal(deletions[0]?.target, gone!._id.toHexString())
  await second.stop()
  t.equal(second.process.exitCode, 0, 'the worker stops cleanly')
})
