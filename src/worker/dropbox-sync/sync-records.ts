import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import { Types } from 'mongoose'
import type { AppImage } from '../../core/app-folder.ts'
import type { RemoteFile } from '../../core/remote-file.ts'
import type { AuditEventModel } from '../../models/audit-event.ts'
import { syncRecordId, type ImageModel } from '../../models/image.ts'

/** What the sync reads of a record. */
export interface SyncedRecord {
  _id: Types.ObjectId
  phone_number: string
  file_name: string
  storage_path: string
  size: number
  content_hash: string
  dropbox_id?: string | null
  source?: string | null
}

export const SYNCED_FIELDS = { phone_number: 1, file_name: 1, storage_path: 1, size: 1, content_hash: 1, dropbox_id: 1, source: 1 }

export const SYNC_ACTOR = 'dropbox-sync'

const DUPLICATE_KEY = 11000

/** Inserts every document; one whose _id exists already (an earlier run wrote it) counts as written. */
export async function insertIgnoringDuplicates (collection: { insertMany: (docs: never[], options: { ordered: false }) => Promise<unknown> }, docs: object[]): Promise<void> {
  if (docs.length === 0) return
  try {
    await collection.insertMany(docs as never[], { ordered: false })
  } catch (err) {
    const writeErrors = [(err as { writeErrors?: unknown }).writeErrors ?? []].flat() as Array<{ code?: number }>
    if (writeErrors.length === 0 || writeErrors.some(e => e.code !== DUPLICATE_KEY)) throw err
  }
}

/**
 * The id of the audit event of one record's deletion in one listing or change set: a run that
 * repeats the set (it was killed) writes the same event again, which is then kept once.
 */
function auditEventId (set: string, recordId: Types.ObjectId): Types.ObjectId {
  return new Types.ObjectId(createHash('sha256').update(`${set}:${recordId.toHexString()}`).digest('hex').slice(0, 24))
}

export interface RecordChanges {
  created: number
  updated: number
  deleted: number
}

/** The Image records' side of the sync: each write is idempotent, so a repeated page changes nothing. */
export class SyncRecords {
  readonly #images: ImageModel
  readonly #audit: AuditEventModel
  readonly #log: Logger
  readonly counts: RecordChanges = { created: 0, updated: 0, deleted: 0 }

  constructor (images: ImageModel, audit: AuditEventModel, log: Logger) {
    this.#images = images
    this.#audit = audit
    this.#log = log
  }

  /**
   * The records of these files: by Dropbox id, or, for records made before ids were kept, by
   * path and content hash. One query for a whole page (FerretDB scans the collection per query).
   */
  async of (files: RemoteFile[]): Promise<Map<string, SyncedRecord[]>> {
    const found = new Map<string, SyncedRecord[]>(files.map(f => [f.id, []]))
    if (files.length === 0) return found
    const records = await this.#images.find({
      $or: [
        { dropbox_id: { $in: files.map(f => f.id) } },
        { storage: 'dropbox', dropbox_id: { $exists: false }, storage_path: { $in: files.map(f => f.path) } }
      ]
    }, SYNCED_FIELDS).lean<SyncedRecord[]>()
    const byPath = new Map(files.map(f => [f.path, f]))
    for (const record of records) {
      const file = record.dropbox_id ? undefined : byPath.get(record.storage_path)
      const id = record.dropbox_id ?? (file?.contentHash === record.content_hash ? file.id : undefined)
      if (id !== undefined) found.get(id)?.push(record)
    }
    return found
  }

  /** Brings the records of one file in step with it; `link` makes its URL when its path changed. */
  async update (records: SyncedRecord[], file: RemoteFile, app: AppImage, link: () => Promise<string | undefined>): Promise<void> {
    let keep = records
    // A worker recorded the file under its upload id while the sync recorded it too: the upload's record stays.
    const duplicates = records.length > 1 ? records.filter(r => r.source === SYNC_ACTOR) : []
    if (duplicates.length > 0 && duplicates.length < records.length) {
      await this.#images.deleteMany({ _id: { $in: duplicates.map(r => r._id) } })
      keep = records.filter(r => r.source !== SYNC_ACTOR)
    }
    let url: string | undefined
    for (const record of keep) {
      const changes: Record<string, unknown> = {}
      if (record.phone_number !== app.phoneNumber) changes.phone_number = app.phoneNumber
      if (record.file_name !== file.name) changes.file_name = file.name
      if (record.storage_path !== file.path) changes.storage_path = file.path
      if (record.size !== file.size) changes.size = file.size
      if (record.content_hash !== file.contentHash) changes.content_hash = file.contentHash
      const visible = Object.keys(changes).length > 0
      if (record.dropbox_id !== file.id) changes.dropbox_id = file.id
      if (changes.storage_path !== undefined) {
        // Renamed or moved: the link Dropbox gives for its new place (a link that named the old one may not last).
        url ??= await link()
        if (url !== undefined) changes.image_url = url
      }
      if (Object.keys(changes).length === 0) continue
      // Other bytes under the same id (the file was overwritten): its renderings are of the old ones.
      const stale = changes.content_hash !== undefined ? { $unset: { variants: '' } } : {}
      await this.#images.updateOne({ _id: record._id }, { $set: changes, ...stale }, { runValidators: true })
      if (visible) {
        this.counts.updated++
        this.#log.info({ recordId: record._id.toHexString(), path: file.path, changed: Object.keys(changes) }, 'record updated from Dropbox')
      }
    }
  }

  /**
   * Records files found in Dropbox. A worker recording one of them between the sync's look and
   * this insert keeps its own record: the sync's goes again at once (the worker, for its part,
   * removes a sync record it finds after its insert; whichever inserts last sees the other).
   */
  async create (files: Array<{ file: RemoteFile, app: AppImage, url: string }>): Promise<void> {
    if (files.length === 0) return
    const docs = files.map(({ file, app, url }) => ({
      _id: syncRecordId(file.id),
      phone_number: app.phoneNumber,
      file_name: file.name,
      image_url: url,
      uploaded_at: file.serverModified,
      storage: 'dropbox',
      storage_path: file.path,
      size: file.size,
      content_type: app.type.mime,
      content_hash: file.contentHash,
      dropbox_id: file.id,
      source: SYNC_ACTOR
    }))
    for (const doc of docs) await this.#images.validate(doc)
    await insertIgnoringDuplicates(this.#images.collection, docs)
    const others = await this.#images.find({ dropbox_id: { $in: docs.map(d => d.dropbox_id) }, _id: { $nin: docs.map(d => d._id) } }, { dropbox_id: 1 }).lean<Array<{ dropbox_id: string }>>()
    const recordedElsewhere = new Set(others.map(r => r.dropbox_id))
    if (recordedElsewhere.size > 0) {
      await this.#images.deleteMany({ _id: { $in: [...recordedElsewhere].map(syncRecordId) }, source: SYNC_ACTOR })
    }
    this.counts.created += docs.length - recordedElsewhere.size
    this.#log.info({ created: docs.length - recordedElsewhere.size }, 'records created for files found in Dropbox')
  }

  /** Deletes records whose files are gone, each with its audit event first. */
  async remove (records: SyncedRecord[], reason: string, set: string): Promise<void> {
    if (records.length === 0) return
    const at = new Date()
    await insertIgnoringDuplicates(this.#audit.collection, records.map(r => ({
      _id: auditEventId(set, r._id),
      at,
      actor: SYNC_ACTOR,
      action: 'image.deleted',
      target: r._id.toHexString(),
      details: {
        summary: `Deleted the record of ${r.storage_path}: ${reason}`,
        phone_number: r.phone_number,
        file_name: r.file_name,
        storage_path: r.storage_path,
        dropbox_id: r.dropbox_id ?? null,
        reason
      }
    })))
    const { deletedCount } = await this.#images.deleteMany({ _id: { $in: records.map(r => r._id) } })
    this.counts.deleted += deletedCount
    this.#log.info({ deleted: deletedCount, reason, paths: records.slice(0, 20).map(r => r.storage_path) }, 'records deleted: their files are gone from Dropbox')
  }

  /** Every Dropbox record, a batch at a time (the full listing's sweep). */
  async * allDropboxRecords (batch = 500): AsyncGenerator<SyncedRecord[]> {
    let records: SyncedRecord[] = []
    for await (const record of this.#images.find({ storage: 'dropbox' }, SYNCED_FIELDS).lean<SyncedRecord[]>().cursor()) {
      records.push(record as SyncedRecord)
      if (records.length >= batch) {
        yield records
        records = []
      }
    }
    if (records.length > 0) yield records
  }

  /** Which of these files have a record now (a worker recorded a file the sync left to it). */
  async recorded (ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set()
    const records = await this.#images.find({ dropbox_id: { $in: ids } }, { dropbox_id: 1 }).lean<Array<{ dropbox_id: string }>>()
    return new Set(records.map(r => r.dropbox_id))
  }

  /** The records of the files under these deleted paths (a file, or a phone folder with all in it). */
  async under (deletedPaths: Set<string>, phones: string[]): Promise<SyncedRecord[]> {
    if (phones.length === 0) return []
    const records = await this.#images.find({ storage: 'dropbox', phone_number: { $in: phones } }, SYNCED_FIELDS).lean<SyncedRecord[]>()
    return records.filter(r => isUnder(r.storage_path.toLowerCase(), deletedPaths))
  }
}

/** Whether an app file's path (/<phone>/<name>) is, or lies in, one of the deleted paths. */
export function isUnder (pathLower: string, deletedPaths: Set<string>): boolean {
  return deletedPaths.has(pathLower) || deletedPaths.has(pathLower.slice(0, pathLower.lastIndexOf('/')))
}
