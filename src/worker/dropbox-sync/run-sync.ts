import { createHash, randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { appImageAt, phoneFolderOf, type AppImage } from '../../core/app-folder.ts'
import type { RemoteFile } from '../../core/remote-file.ts'
import type { AuditEventModel } from '../../models/audit-event.ts'
import type { ImageModel } from '../../models/image.ts'
import type { DropboxSyncState, PageBookkeeping, SyncPosition } from '../../queue/dropbox-sync-state.ts'
import { StorageCursorResetError, StoragePermanentError } from '../../storage/errors.ts'
import type { RemoteChangePage, RemoteChanges, Storage } from '../../storage/storage.ts'
import { mapLimit, patiently } from './calls.ts'
import { isUnder, SyncRecords, type RecordChanges, type SyncedRecord } from './sync-records.ts'

export interface SyncDeps {
  changes: RemoteChanges
  /** Makes a found file's raw shared link, as uploads get theirs. */
  storage: Pick<Storage, 'publicUrl'>
  images: ImageModel
  audit: AuditEventModel
  state: DropboxSyncState
  logger: Logger
  /** Aborted to stop the run between two steps (shutdown, or the lease was lost). */
  signal: AbortSignal
  /** The lease's token: every write of the shared position is fenced with it. */
  token: string
  /** Shared links made at once (one Dropbox call each, for every new file). */
  linkConcurrency?: number
}

export interface SyncOutcome extends RecordChanges {
  fullListing: boolean
  pages: number
  deferred: number
}

/**
 * One sync run: Dropbox's changes since the stored cursor (the whole listing the first time, or
 * after Dropbox reset the cursor), applied to the Image records page by page. After each page the
 * cursor and the page's bookkeeping are saved atomically, and every write to the records is
 * idempotent, so a run killed anywhere is resumed by the next one and converges to the same
 * records. The caller holds the sync's lease: one run at a time across all processes.
 */
export async function runDropboxSync (deps: SyncDeps): Promise<SyncOutcome> {
  return new SyncRun(deps).run()
}

class SyncRun {
  readonly #deps: SyncDeps
  readonly #records: SyncRecords
  readonly #log: Logger
  readonly #outcome = { fullListing: false, pages: 0, deferred: 0 }
  /** Files left to the workers storing them, by id, as the state holds them. */
  #deferred = new Map<string, RemoteFile>()

  constructor (deps: SyncDeps) {
    this.#deps = deps
    this.#log = deps.logger
    this.#records = new SyncRecords(deps.images, deps.audit, deps.logger)
  }

  async run (): Promise<SyncOutcome> {
    const { state, token, changes, signal } = this.#deps
    this.#deferred = new Map((await state.deferred()).map(f => [f.id, f]))
    let position = await state.position() ?? await this.#beginListing()
    let fetched = false
    for (;;) {
      signal.throwIfAborted()
      if (position.stage === 'finishing') {
        await this.#finishSet(position)
        position = await state.rest(token, position)
        // A set left unfinished by a killed run is done; this run still looks for what changed since.
        if (fetched) return { ...this.#outcome, ...this.#records.counts }
        continue
      }
      let page: RemoteChangePage
      try {
        const from = position
        page = await patiently(() => from.stage === 'start' ? changes.listAll() : changes.continue(from.cursor), signal)
      } catch (err) {
        if (!(err instanceof StorageCursorResetError)) throw err
        this.#log.warn({ mode: position.mode }, 'Dropbox reset the sync cursor: listing everything again')
        position = await this.#beginListing()
        continue
      }
      fetched = true
      this.#outcome.pages++
      // The first page of a change set names the set after the cursor it started from: a run that
      // repeats the set after a kill gives it the same name (and its audit events the same ids).
      if (position.stage === 'resting') position = { ...position, stage: 'paging', set: nameOf(position.cursor) }
      const notes = await this.#applyPage(page, position)
      position = { ...position, cursor: page.cursor, stage: page.hasMore ? 'paging' : 'finishing' }
      await state.savePage(token, position, notes)
    }
  }

  async #beginListing (): Promise<SyncPosition> {
    this.#outcome.fullListing = true
    return this.#deps.state.beginListing(this.#deps.token, randomUUID())
  }

  async #applyPage (page: RemoteChangePage, position: SyncPosition): Promise<PageBookkeeping> {
    const files = page.changes.flatMap(c => c.kind === 'file' ? [c.file] : [])
    const notes: PageBookkeeping = {
      seen: position.mode === 'listing' ? files.map(f => f.id) : [],
      // Applied when the set ends: a file moved away is reported deleted at its old path, and its
      // new path may come on a later page; by then its record follows it (matched by id).
      deleted: page.changes.flatMap(c => c.kind === 'deleted' ? [c.pathLower] : []),
      defer: [],
      // A file listed again is decided afresh.
      undefer: files.filter(f => this.#deferred.delete(f.id)).map(f => f.id)
    }
    await this.#applyFiles(files, position.set, notes)
    return notes
  }

  /** Files as Dropbox shows them now: records updated, created, or removed when no longer the app's. */
  async #applyFiles (files: RemoteFile[], set: string, notes: PageBookkeeping): Promise<void> {
    const recordsOf = await this.#records.of(files)
    const unknown: Array<{ file: RemoteFile, app: AppImage }> = []
    for (const file of files) {
      this.#deps.signal.throwIfAborted()
      const records = recordsOf.get(file.id) ?? []
      const app = appImageAt(file.path)
      if (!app) {
        await this.#records.remove(records, `no longer an image in a phone-number folder: now ${file.path}`, set)
        continue
      }
      if (records.length === 0) unknown.push({ file, app })
      else await this.#records.update(records, file, app, () => this.#link(file))
    }
    if (unknown.length === 0) return
    // A file a worker is storing right now gets its record from the worker, moments from now.
    const committing = await this.#deps.state.committing(unknown.map(u => ({ folder: u.app.phoneNumber, contentHash: u.file.contentHash })))
    const deferred = unknown.filter((_, i) => committing[i]).map(u => u.file)
    for (const file of deferred) this.#deferred.set(file.id, file)
    notes.defer!.push(...deferred)
    this.#outcome.deferred += deferred.length
    await this.#create(unknown.filter((_, i) => !committing[i]))
  }

  async #create (found: Array<{ file: RemoteFile, app: AppImage }>): Promise<void> {
    const linked = await mapLimit(found, this.#deps.linkConcurrency ?? 16, async ({ file, app }) => {
      const url = await this.#link(file)
      return url === undefined ? [] : [{ file, app, url }]
    })
    await this.#records.create(linked.flat())
  }

  /** The file's raw shared link; undefined when Dropbox refuses one (the file is gone meanwhile, say). */
  async #link (file: RemoteFile): Promise<string | undefined> {
    try {
      return await patiently(() => this.#deps.storage.publicUrl({ path: file.path, name: file.name, size: file.size, contentHash: file.contentHash, id: file.id }), this.#deps.signal)
    } catch (err) {
      if (!(err instanceof StoragePermanentError)) throw err
      this.#log.warn({ path: file.path, err: err.message }, 'no shared link for a file found in Dropbox: left without a record')
      return undefined
    }
  }

  /** What comes at the end of a listing or change set, all of it safe to repeat. */
  async #finishSet (position: SyncPosition): Promise<void> {
    const deleted = new Set(await this.#deps.state.deletedPaths())
    if (deleted.size > 0) {
      const phones = [...new Set([...deleted].map(phoneFolderOf).filter((p): p is string => p !== undefined))]
      await this.#records.remove(await this.#records.under(deleted, phones), 'deleted in Dropbox', position.set)
      await this.#forget([...this.#deferred.values()].filter(f => isUnder(f.pathLower, deleted)))
    }
    if (position.mode === 'listing') {
      await this.#sweep(position.set)
      // Files left to workers before Dropbox reset the cursor, and missing from the new listing, are gone.
      const waiting = [...this.#deferred.values()]
      const seen = await this.#deps.state.seen(waiting.map(f => f.id))
      await this.#forget(waiting.filter((_, i) => !seen[i]))
    }
    await this.#reviewDeferred()
  }

  /**
   * After a full listing: the records of files it did not show. Each is looked up once more (the
   * listing is a snapshot, and a worker may have stored its file since): a file gone is a record
   * deleted, a file found is a record brought in step.
   */
  async #sweep (set: string): Promise<void> {
    const missing: SyncedRecord[] = []
    for await (const batch of this.#records.allDropboxRecords()) {
      const withId = batch.filter(r => r.dropbox_id)
      const seen = await this.#deps.state.seen(withId.map(r => r.dropbox_id!))
      missing.push(...withId.filter((_, i) => !seen[i]), ...batch.filter(r => !r.dropbox_id))
    }
    for (const record of missing) {
      this.#deps.signal.throwIfAborted()
      const now = await patiently(() => this.#deps.changes.lookup(record.dropbox_id ?? record.storage_path), this.#deps.signal)
      // Without an id, a record is its file only if the bytes are the same.
      const same = now && (record.dropbox_id || now.contentHash === record.content_hash) ? now : undefined
      const app = same && appImageAt(same.path)
      if (same && app) await this.#records.update([record], same, app, () => this.#link(same))
      else await this.#records.remove([record], same ? `no longer an image in a phone-number folder: now ${same.path}` : 'not in Dropbox (found by a full listing)', set)
    }
  }

  /** Files left to workers: recorded by now, or still being stored, or given a record at last. */
  async #reviewDeferred (): Promise<void> {
    if (this.#deferred.size === 0) return
    const files = [...this.#deferred.values()]
    const recorded = await this.#records.recorded(files.map(f => f.id))
    const open = files.flatMap(file => {
      const app = recorded.has(file.id) ? undefined : appImageAt(file.path)
      return app ? [{ file, app }] : []
    })
    const committing = await this.#deps.state.committing(open.map(o => ({ folder: o.app.phoneNumber, contentHash: o.file.contentHash })))
    const orphaned = open.filter((_, i) => !committing[i])
    if (orphaned.length > 0) this.#log.warn({ files: orphaned.map(o => o.file.path) }, 'files stored by a worker that never recorded them: recorded by the sync')
    await this.#create(orphaned)
    const waiting = new Set(open.filter((_, i) => committing[i]).map(o => o.file.id))
    await this.#forget(files.filter(f => !waiting.has(f.id)))
  }

  async #forget (files: RemoteFile[]): Promise<void> {
    for (const file of files) this.#deferred.delete(file.id)
    await this.#deps.state.undefer(this.#deps.token, files.map(f => f.id))
  }
}

function nameOf (cursor: string): string {
  return createHash('sha256').update(cursor).digest('hex').slice(0, 32)
}
