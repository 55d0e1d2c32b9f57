import { syncRecordId, type ImageModel, type ImageRecord } from '../models/image.ts'
import type { Types } from 'mongoose'

export type ImageDocument = ImageRecord & { _id: Types.ObjectId }

interface Pending {
  doc: ImageDocument
  /** The Dropbox sync may have recorded this file already: its record is to go (see #replaceSyncRecords). */
  replacesSyncRecord: boolean
  resolve: () => void
  reject: (err: Error) => void
}

const DUPLICATE_KEY = 11000

/**
 * Writes Image records in batches: the records that finish while a write is under way go
 * together in the next one (group commit), so under load one insertMany carries many records
 * and an idle worker writes at once. A batch costs the database about what a single write does:
 * on FerretDB one insert of 20 records took 0.3 ms a record where 20 concurrent upserts took 4.
 * A record whose _id exists already was written by an earlier run of its job: that counts as
 * written, which keeps the write idempotent.
 */
export class RecordWriter {
  readonly #images: ImageModel
  readonly #maxBatch: number
  #queue: Pending[] = []
  #writing = false

  constructor (images: ImageModel, maxBatch = 200) {
    this.#images = images
    this.#maxBatch = maxBatch
  }

  async insert (doc: ImageDocument, { replacesSyncRecord = false } = {}): Promise<void> {
    // Validated here, one by one: a bulk insert would skip an invalid record silently.
    await this.#images.validate(doc)
    return new Promise((resolve, reject) => {
      this.#queue.push({ doc, replacesSyncRecord: replacesSyncRecord && Boolean(doc.dropbox_id), resolve, reject })
      if (!this.#writing) void this.#drain()
    })
  }

  async #drain (): Promise<void> {
    this.#writing = true
    // Let the callers of this tick join the first batch.
    await new Promise(resolve => setImmediate(resolve))
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch)
      const docs = batch.map(p => p.doc)
      const failures = await this.#write(docs)
      const replaced = await this.#replaceSyncRecords(batch.filter((pending, i) => pending.replacesSyncRecord && !failures(i)).map(p => p.doc))
      batch.forEach((pending, i) => {
        const failure = failures(i) ?? (pending.replacesSyncRecord ? replaced : undefined)
        if (failure) pending.reject(failure)
        else pending.resolve()
      })
    }
    this.#writing = false
  }

  /**
   * The Dropbox sync may have recorded one of these files before this insert (it found the file
   * in Dropbox while no mark said a worker was storing it): the upload's record stays, the
   * sync's goes. The sync, for its part, checks after its own insert; whichever inserts last
   * sees the other. Its record's _id derives from the Dropbox id: a delete by _id.
   */
  async #replaceSyncRecords (written: ImageDocument[]): Promise<Error | undefined> {
    const ids = written.flatMap(doc => doc.dropbox_id ? [syncRecordId(doc.dropbox_id)] : [])
    if (ids.length === 0) return undefined
    try {
      await this.#images.deleteMany({ _id: { $in: ids }, source: 'dropbox-sync' })
      return undefined
    } catch (err) {
      return err as Error
    }
  }

  /** Inserts the batch; returns each record's error, if it has one that matters. */
  async #write (docs: ImageDocument[]): Promise<(index: number) => Error | undefined> {
    try {
      await this.#images.collection.insertMany(docs, { ordered: false })
      return () => undefined
    } catch (err) {
      // Per-record errors only when the server answered with some; a bulk error without any (a
      // lost connection) fails the whole batch, and every job retries.
      const writeErrors = [(err as { writeErrors?: unknown }).writeErrors ?? []].flat() as Array<{ index: number, code?: number, errmsg?: string }>
      if (writeErrors.length === 0) return () => err as Error
      const byIndex = new Map(writeErrors.map(e => [e.index, e]))
      return index => {
        const e = byIndex.get(index)
        return e && e.code !== DUPLICATE_KEY ? new Error(e.errmsg ?? `insert failed (code ${e.code})`) : undefined
      }
    }
  }
}
