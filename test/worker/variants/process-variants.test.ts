// The variant job's processor (src/worker/variants/process-variants.ts) against real MongoDB and
// local storage: every step idempotent, a job may run twice or race a deletion.
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { UnrecoverableError } from 'bullmq'
import { Types } from 'mongoose'
import { pino } from 'pino'
import sharp from 'sharp'
import t, { type Test } from 'tap'
import { DropboxContentHasher } from '../../../src/core/content-hash.ts'
import { openDatabase } from '../../../src/models/connect.ts'
import { StorageTransientError } from '../../../src/storage/errors.ts'
import { createStorage } from '../../../src/storage/index.ts'
import type { Storage } from '../../../src/storage/storage.ts'
import { HeicDecoder } from '../../../src/worker/variants/heic-decoder.ts'
import { processVariants, type VariantDeps } from '../../../src/worker/variants/process-variants.ts'
import { displayP3Profile } from '../../../src/worker/variants/render.ts'
import { testEnv } from '../../helpers/config.ts'
import { randomPng } from '../../helpers/images.ts'

/** A storage that does what `storage` does, but for `overrides`. */
function wrap (storage: Storage, overrides: Partial<Pick<Storage, 'read' | 'write'>>): Storage {
  return {
    kind: storage.kind,
    put: file => storage.put(file),
    holds: stored => storage.holds(stored),
    publicUrl: stored => storage.publicUrl(stored),
    remove: path => storage.remove(path),
    read: (path, range) => storage.read(path, range),
    write: (path, bytes) => storage.write(path, bytes),
    successMessage: name => storage.successMessage(name),
    close: () => storage.close(),
    ...overrides
  }
}

async function setup (t: Test) {
  const { config, dataDir } = await testEnv(t)
  const db = await openDatabase(config.mongodbUrl)
  t.teardown(() => db.connection.close())
  const storage = createStorage(config)
  const workDir = await mkdtemp(join(tmpdir(), 'variants-work-'))
  t.teardown(() => rm(workDir, { recursive: true, force: true }))
  const calls = { read: 0, write: 0 }
  // Counts the calls, and lets a test step in before a write.
  let beforeWrite: (() => Promise<void>) | undefined
  const counted = wrap(storage, {
    read: (...args) => { calls.read++; return storage.read(...args) },
    write: async (...args) => { calls.write++; await beforeWrite?.(); return storage.write(...args) }
  })
  const deps: VariantDeps = {
    storage: counted,
    images: db.images,
    heic: new HeicDecoder(1, displayP3Profile),
    limits: { maxInputPixels: 64_000_000, timeoutMs: 30_000 },
    workDir,
    logger: pino({ level: 'silent' }),
    pauseQueue: async () => {}
  }
  const image = async (bytes: Buffer, name = 'photo.png') => {
    await mkdir(join(dataDir, '5550100'), { recursive: true })
    await writeFile(join(dataDir, '5550100', name), bytes)
    const _id = new Types.ObjectId()
    await db.images.create({
      _id,
      phone_number: '5550100',
      file_name: name,
      image_url: `http://localhost:3000/files/5550100/${name}`,
      storage: 'local',
      storage_path: `/5550100/${name}`,
      size: bytes.length,
      content_type: 'image/png',
      content_hash: new DropboxContentHasher().update(bytes).digest()
    })
    return _id.toHexString()
  }
  const job = (uploadId: string) => ({ id: uploadId, data: { uploadId }, attemptsStarted: 1 })
  return { deps, db, dataDir, calls, image, job, setBeforeWrite: (fn: typeof beforeWrite) => { beforeWrite = fn } }
}

const png = () => sharp({ create: { width: 800, height: 600, channels: 3, background: '#48c' } }).png().toBuffer()

t.test('a job run twice makes the renderings once', async t => {
  const { deps, db, dataDir, calls, image, job } = await setup(t)
  const id = await image(await png())
  t.same(await processVariants(job(id), deps), { status: 'ready' })
  t.equal(calls.write, 2, 'display and thumbnail written')
  await access(join(dataDir, '.variants', id, 'display.jpg'))
  const record = await db.images.findById(id).lean()
  t.match(record?.variants, { status: 'ready', display: { path: `/.variants/${id}/display.jpg`, width: 800, height: 600 }, thumbnail: { path: `/.variants/${id}/thumbnail.webp`, width: 320, height: 240 } })

  t.same(await processVariants(job(id), deps), { status: 'ready' }, 'again: already made')
  t.same(calls, { read: 1, write: 2 }, 'nothing read or written the second time')
})

t.test('a record deleted while its renderings were made loses them again', async t => {
  const { deps, db, dataDir, image, job, setBeforeWrite } = await setup(t)
  const id = await image(await png())
  setBeforeWrite(async () => { await db.images.deleteOne({ _id: id }) })
  t.same(await processVariants(job(id), deps), { status: 'gone' })
  await t.rejects(access(join(dataDir, '.variants', id)), 'nothing left in storage')
  t.same(await processVariants(job(id), deps), { status: 'gone' }, 'a job for a deleted record ends at once')
})

t.test('an unrenderable image is recorded as such, once; the job does not retry', async t => {
  const { deps, db, calls, image, job } = await setup(t)
  const broken = randomPng(30_000)
  broken.fill(0x55, 200, 400)
  const id = await image(broken, 'broken.png')
  const first = await processVariants(job(id), deps)
  t.match(first, { status: 'failed', reason: /damaged or unreadable/ })
  t.match((await db.images.findById(id).lean())?.variants, { status: 'failed', reason: /damaged or unreadable/ })
  t.same(await processVariants(job(id), deps), first, 'again: the recorded reason, nothing read')
  t.equal(calls.read, 1)
})

t.test('storage failures are retried (nothing recorded); a missing original is recorded', async t => {
  const { deps, db, dataDir, image, job } = await setup(t)
  const id = await image(await png())
  const failing = { ...deps, storage: wrap(deps.storage, { read: async () => { throw new StorageTransientError('down') } }) }
  await t.rejects(processVariants(job(id), failing), StorageTransientError, 'a transient error: BullMQ retries')
  t.equal((await db.images.findById(id).lean())?.variants, undefined, 'nothing recorded')
  await t.rejects(processVariants(job('not-an-id'), deps), UnrecoverableError)

  await rm(join(dataDir, '5550100', 'photo.png'))
  t.match(await processVariants(job(id), deps), { status: 'failed', reason: /gone from storage/ })
})
