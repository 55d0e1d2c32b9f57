import { randomBytes } from 'node:crypto'
import { deletedMetadata, taggedMetadata } from './metadata.ts'
import type { Entry, NamespaceChange } from './namespace.ts'
import type { ListedMetadata } from './types.ts'

// The account's history, from which list_folder and list_folder/continue answer: one record per
// change of one path, numbered by a sequence that only grows. A record holds the metadata as it
// was then, so a listing paged over several calls stays one consistent snapshot while the tree
// keeps changing.

export interface ChangeRecord {
  seq: number
  pathLower: string
  metadata: ListedMetadata
  coveredBy?: string // path_lower of the deleted folder that took this entry with it
}

// What a cursor follows: a folder ('' is the root) and, unless recursive, only its direct children.
export interface Scope {
  pathLower: string
  recursive: boolean
}

export function inScope (scope: Scope, pathLower: string): boolean {
  const prefix = scope.pathLower
  if (prefix !== '' && pathLower === prefix) return scope.recursive // a recursive listing shows the folder itself
  if (!pathLower.startsWith(`${prefix}/`)) return false
  return scope.recursive || !pathLower.includes('/', prefix.length + 1)
}

const CACHED_RESULTS = 8

export class ChangeJournal {
  #records: ChangeRecord[] = []
  #first = 1 // seq of #records[0]
  #epoch = newEpoch()
  // Records never change once written, so a computed page set stays valid: paging through
  // 10,000 entries computes it once, not once per page.
  #cache = new Map<string, ListedMetadata[]>()

  // Cursors carry the epoch; restart() begins a new one, which is how every older cursor is reset.
  get epoch (): string {
    return this.#epoch
  }

  get head (): number {
    return this.#first + this.#records.length - 1
  }

  // The oldest sequence number a cursor may still point at.
  get base (): number {
    return this.#first - 1
  }

  record (change: NamespaceChange): void {
    const { entry } = change
    const metadata = change.kind === 'put' ? taggedMetadata(entry) : deletedMetadata(entry)
    const record: ChangeRecord = { seq: this.head + 1, pathLower: entry.pathLower, metadata }
    if (change.kind === 'delete' && change.coveredBy !== undefined) record.coveredBy = change.coveredBy
    this.#records.push(record)
  }

  // Forgets the history (a fresh one starts from the current tree) and invalidates every cursor,
  // as Dropbox does when it can no longer answer an old cursor.
  restart (entries: Entry[]): void {
    this.#first = this.head + 1
    this.#records = []
    this.#cache.clear()
    this.#epoch = newEpoch()
    for (const entry of entries) this.record({ kind: 'put', entry })
  }

  knows (epoch: string, seq: number): boolean {
    return epoch === this.#epoch && seq >= this.base && seq <= this.head
  }

  // The tree under scope as it was at upTo: what the first list_folder pages show, sorted by path
  // so parents come before their children.
  listing (scope: Scope, upTo: number): ListedMetadata[] {
    return this.#cached(`listing ${scope.pathLower} ${scope.recursive} ${upTo}`, () => {
      const current = new Map<string, ListedMetadata>()
      for (const record of this.#between(this.base, upTo)) {
        if (!inScope(scope, record.pathLower)) continue
        if (record.metadata['.tag'] === 'deleted') current.delete(record.pathLower)
        else current.set(record.pathLower, record.metadata)
      }
      return [...current.keys()].sort().map((path) => current.get(path) as ListedMetadata)
    })
  }

  // The net changes under scope after `after` up to upTo: for each path its last state, in the
  // order of those last changes (so a folder comes before what was put in it). A file created and
  // deleted again in between is reported as deleted (Dropbox allows either that or leaving it
  // out; a deleted entry for an unknown path is to be ignored by clients). A deletion covered by
  // its folder's is left out when the folder's deletion is reported, as Dropbox reports one
  // deleted entry for a deleted folder.
  changes (scope: Scope, after: number, upTo: number): ListedMetadata[] {
    return this.#cached(`changes ${scope.pathLower} ${scope.recursive} ${after} ${upTo}`, () => {
      const last = new Map<string, ChangeRecord>()
      for (const record of this.#between(after, upTo)) {
        if (!inScope(scope, record.pathLower)) continue
        last.delete(record.pathLower) // re-inserted at the end: Map order is the order of last changes
        last.set(record.pathLower, record)
      }
      const result: ListedMetadata[] = []
      for (const record of last.values()) {
        const folder = record.coveredBy === undefined ? undefined : last.get(record.coveredBy)
        if (folder?.metadata['.tag'] === 'deleted') continue
        result.push(record.metadata)
      }
      return result
    })
  }

  * #between (after: number, upTo: number): Generator<ChangeRecord> {
    for (let seq = Math.max(after, this.base) + 1; seq <= upTo; seq++) {
      const record = this.#records[seq - this.#first]
      if (record) yield record
    }
  }

  #cached (key: string, compute: () => ListedMetadata[]): ListedMetadata[] {
    let result = this.#cache.get(key)
    if (result) return result
    result = compute()
    if (this.#cache.size >= CACHED_RESULTS) {
      const oldest = this.#cache.keys().next().value
      if (oldest !== undefined) this.#cache.delete(oldest)
    }
    this.#cache.set(key, result)
    return result
  }
}

function newEpoch (): string {
  return randomBytes(6).toString('base64url')
}
