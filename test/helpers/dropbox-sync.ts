import { Redis } from 'ioredis'
import { pino } from 'pino'
import type { Config } from '../../src/config.ts'
import { auditEventModel, type AuditEventModel } from '../../src/models/audit-event.ts'
import { openDatabase, type Database } from '../../src/models/connect.ts'
import { DropboxSyncState } from '../../src/queue/dropbox-sync-state.ts'
import { createStorage } from '../../src/storage/index.ts'
import type { Storage } from '../../src/storage/storage.ts'
import { runDropboxSync, type SyncOutcome } from '../../src/worker/dropbox-sync/run-sync.ts'
import type { DropboxEmulator } from '../support/dropbox-emulator/index.ts'
import { fakeJpeg } from './images.ts'
import { redisCommitLock } from '../../src/runtime/commit-lock.ts'

interface Teardown {
  teardown: (fn: () => unknown) => void
}

export interface SyncHarness {
  db: Database
  redis: Redis
  storage: Storage
  state: DropboxSyncState
  audit: AuditEventModel
  /** One sync run in this process, as a worker's sync job runs it (lease included). */
  run: (options?: { linkConcurrency?: number }) => Promise<SyncOutcome>
}

/** The sync's parts on the test's Redis, MongoDB and Dropbox emulator, without a worker around them. */
export async function syncHarness (t: Teardown, config: Config): Promise<SyncHarness> {
  const db = await openDatabase(config.mongodbUrl)
  t.teardown(() => db.connection.close())
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null })
  t.teardown(() => redis.disconnect())
  const storage = createStorage(config, { commitLock: redisCommitLock(redis, config.queuePrefix) })
  const state = new DropboxSyncState(redis, config.queuePrefix)
  const audit = auditEventModel(db.connection)
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' })
  const run = async ({ linkConcurrency }: { linkConcurrency?: number } = {}): Promise<SyncOutcome> => {
    const held = await state.lease(10_000).acquire({ waitMs: 15_000 })
    if (!held) throw new Error('the sync lease is held elsewhere')
    try {
      return await runDropboxSync({ changes: storage.changes!, storage, images: db.images, audit, state, logger, signal: held.lost, token: held.token, linkConcurrency })
    } finally {
      await held.release()
    }
  }
  return { db, redis, storage, state, audit, run }
}

/** `files` JPEGs put into Dropbox "from outside", spread over `folders` phone-number folders. */
export async function fillDropbox (emulator: DropboxEmulator, { files, folders, bytes = 64 }: { files: number, folders: number, bytes?: number }): Promise<string[]> {
  const paths: string[] = []
  for (let i = 0; i < files; i++) {
    const path = `/${5550000000 + (i % folders)}/photo-${i}.jpg`
    await emulator.addFile(path, fakeJpeg(bytes))
    paths.push(path)
  }
  return paths
}

/** The app's images in the emulator (phone folders, image names), as the records must mirror them. */
export function appFilesIn (emulator: DropboxEmulator): Array<{ id: string, path: string, hash: string }> {
  return emulator.files()
    .filter(f => /^\/\d{1,15}\/[^/]+\.(jpe?g|png|gif|webp|heic|heif|avif|bmp|tiff?)$/i.test(f.path_display))
    .map(f => ({ id: f.id, path: f.path_display, hash: f.content_hash }))
    .sort((a, b) => a.path.localeCompare(b.path))
}

/** The Dropbox records, in the same shape. */
export async function dropboxRecords (db: Database): Promise<Array<{ id: string, path: string, hash: string }>> {
  const records = await db.images.find({ storage: 'dropbox' }, { dropbox_id: 1, storage_path: 1, content_hash: 1 }).lean()
  return records.map(r => ({ id: r.dropbox_id ?? '', path: r.storage_path, hash: r.content_hash })).sort((a, b) => a.path.localeCompare(b.path))
}
