import { randomBytes } from 'node:crypto'
import { conflict, type Tagged } from './dropbox-errors.ts'
import { autorenamed, baseName, parentPath, pathComponents, pathProblem } from './paths.ts'
import type { WriteMode } from './route-args.ts'

// The account's file tree. Keys are lowercased paths (Dropbox paths are case-insensitive); an
// entry keeps the case it was first created with. Every change is reported, synchronously and
// before the next one, to the listener that keeps the change journal.

export interface FileEntry {
  kind: 'file'
  id: string
  name: string
  pathLower: string
  pathDisplay: string
  rev: string
  size: number
  contentHash: string
  clientModified: string
  serverModified: string
  blob: string
}

export interface FolderEntry {
  kind: 'folder'
  id: string
  name: string
  pathLower: string
  pathDisplay: string
}

export type Entry = FileEntry | FolderEntry

export interface Content {
  blob: string
  size: number
  contentHash: string
}

export interface WriteRequest {
  path: string
  mode: WriteMode
  autorename: boolean
  strictConflict: boolean
  clientModified?: string
  content: Content
}

// 'put': the entry now exists as it is (created, overwritten, or arrived by a move).
// 'delete': the entry left its path (deleted or moved away); the listener reads its old path now,
// before it changes. coveredBy names the folder whose own deletion took this entry with it.
export type NamespaceChange =
  | { kind: 'put', entry: Entry }
  | { kind: 'delete', entry: Entry, coveredBy?: string }

export type ChangeListener = (change: NamespaceChange) => void

export type WriteOutcome =
  | { status: 'written', entry: FileEntry, replacedBlob?: string }
  | { status: 'unchanged', entry: FileEntry }
  | { status: 'failed', error: Tagged } // a files.WriteError

export type MoveOutcome =
  | { status: 'moved', entry: Entry }
  | { status: 'failed', error: Tagged } // a files.RelocationError

export type FolderOutcome =
  | { status: 'created', entry: FolderEntry }
  | { status: 'failed', error: Tagged } // a files.WriteError

type Decision =
  | { kind: 'create' }
  | { kind: 'replace', entry: FileEntry }
  | { kind: 'unchanged', entry: FileEntry }
  | { kind: 'conflict', with: 'file' | 'folder' }

export function timestamp (date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export class Namespace {
  #byPath = new Map<string, Entry>()
  #byId = new Map<string, Entry>()
  #revisions = 0
  readonly #onChange: ChangeListener

  constructor (onChange: ChangeListener = () => {}) {
    this.#onChange = onChange
  }

  // "/Path", "id:..." or "rev:..." as the read routes accept.
  resolve (pathOrId: string): Entry | undefined {
    if (pathOrId.startsWith('id:')) return this.#byId.get(pathOrId)
    if (pathOrId.startsWith('rev:')) return this.files().find((file) => `rev:${file.rev}` === pathOrId)
    if (!pathOrId.startsWith('/')) return undefined
    return this.#byPath.get(pathOrId.toLowerCase())
  }

  byId (id: string): Entry | undefined {
    return this.#byId.get(id)
  }

  files (): FileEntry[] {
    return [...this.#byPath.values()].filter((entry) => entry.kind === 'file')
  }

  // Every entry, parents before children.
  entries (): Entry[] {
    return [...this.#byPath.values()].sort(pathOrder)
  }

  // Synchronous on purpose: deciding and applying a write cannot interleave with another commit.
  write (request: WriteRequest): WriteOutcome {
    let path = request.path
    if (path.startsWith('id:')) path = this.#byId.get(path)?.pathDisplay ?? ''
    if (!path.startsWith('/')) return { status: 'failed', error: { '.tag': 'malformed_path' } }
    const problem = pathProblem(path)
    if (problem) return { status: 'failed', error: { '.tag': problem } }

    if (this.#hasFileAncestor(path)) return { status: 'failed', error: conflict('file_ancestor') }

    const decision = this.#decide(path, request)
    switch (decision.kind) {
      case 'create': return this.#create(path, request)
      case 'replace': return this.#replace(decision.entry, request)
      case 'unchanged': return { status: 'unchanged', entry: decision.entry }
    }
    if (!request.autorename) return { status: 'failed', error: conflict(decision.with) }
    const style = request.mode.tag === 'update' ? 'conflicted' : 'number'
    for (let attempt = 1; ; attempt++) {
      const candidate = `${parentPath(path)}/${autorenamed(baseName(path), attempt, style)}`
      const existing = this.#byPath.get(candidate.toLowerCase())
      if (!existing) return this.#create(candidate, request)
      if (existing.kind === 'file' && existing.contentHash === request.content.contentHash) {
        return { status: 'unchanged', entry: existing }
      }
    }
  }

  // WriteMode semantics from files.stone: identical content is never a conflict (nothing is
  // written) unless strict_conflict; a folder in the way always is.
  #decide (path: string, request: WriteRequest): Decision {
    const existing = this.#byPath.get(path.toLowerCase())
    const { mode, strictConflict } = request
    if (!existing) return mode.tag === 'update' && strictConflict ? { kind: 'conflict', with: 'file' } : { kind: 'create' }
    if (existing.kind === 'folder') return { kind: 'conflict', with: 'folder' }
    const identical = existing.contentHash === request.content.contentHash && existing.size === request.content.size
    switch (mode.tag) {
      case 'overwrite':
        return identical ? { kind: 'unchanged', entry: existing } : { kind: 'replace', entry: existing }
      case 'update':
        if (mode.rev === existing.rev) {
          return identical ? { kind: 'unchanged', entry: existing } : { kind: 'replace', entry: existing }
        }
        return identical && !strictConflict ? { kind: 'unchanged', entry: existing } : { kind: 'conflict', with: 'file' }
      case 'add':
        return identical && !strictConflict ? { kind: 'unchanged', entry: existing } : { kind: 'conflict', with: 'file' }
    }
  }

  #hasFileAncestor (path: string): boolean {
    const names = pathComponents(path)
    for (let i = 1; i < names.length; i++) {
      const ancestor = this.#byPath.get(`/${names.slice(0, i).join('/')}`.toLowerCase())
      if (ancestor?.kind === 'file') return true
    }
    return false
  }

  // Missing parent folders are created implicitly; existing ones keep their display case.
  #ensureParents (path: string): { lower: string, display: string } {
    let lower = ''
    let display = ''
    for (const name of pathComponents(path).slice(0, -1)) {
      const pathLower = `${lower}/${name.toLowerCase()}`
      let folder = this.#byPath.get(pathLower)
      if (!folder) {
        folder = { kind: 'folder', id: newId(), name, pathLower, pathDisplay: `${display}/${name}` }
        this.#add(folder)
      }
      lower = folder.pathLower
      display = folder.pathDisplay
    }
    return { lower, display }
  }

  #create (path: string, request: WriteRequest): WriteOutcome {
    const parent = this.#ensureParents(path)
    const name = baseName(path)
    const now = timestamp()
    const entry: FileEntry = {
      kind: 'file',
      id: newId(),
      name,
      pathLower: `${parent.lower}/${name.toLowerCase()}`,
      pathDisplay: `${parent.display}/${name}`,
      rev: this.#newRev(),
      size: request.content.size,
      contentHash: request.content.contentHash,
      clientModified: request.clientModified ?? now,
      serverModified: now,
      blob: request.content.blob
    }
    this.#add(entry)
    return { status: 'written', entry }
  }

  #replace (entry: FileEntry, request: WriteRequest): WriteOutcome {
    const replacedBlob = entry.blob
    const now = timestamp()
    Object.assign(entry, {
      rev: this.#newRev(),
      size: request.content.size,
      contentHash: request.content.contentHash,
      clientModified: request.clientModified ?? now,
      serverModified: now,
      blob: request.content.blob
    })
    this.#onChange({ kind: 'put', entry })
    return { status: 'written', entry, replacedBlob }
  }

  // The stored bytes changed under an existing revision (the corruptNextUploads fault).
  contentChanged (entry: FileEntry, contentHash: string): void {
    entry.contentHash = contentHash
    this.#onChange({ kind: 'put', entry })
  }

  // files/create_folder_v2 semantics: anything already at the path is a conflict.
  createFolder (path: string): FolderOutcome {
    if (!path.startsWith('/')) return { status: 'failed', error: { '.tag': 'malformed_path' } }
    const problem = pathProblem(path)
    if (problem) return { status: 'failed', error: { '.tag': problem } }
    if (this.#hasFileAncestor(path)) return { status: 'failed', error: conflict('file_ancestor') }
    const existing = this.#byPath.get(path.toLowerCase())
    if (existing) return { status: 'failed', error: conflict(existing.kind) }
    const parent = this.#ensureParents(path)
    const name = baseName(path)
    const entry: FolderEntry = {
      kind: 'folder', id: newId(), name, pathLower: `${parent.lower}/${name.toLowerCase()}`, pathDisplay: `${parent.display}/${name}`
    }
    this.#add(entry)
    return { status: 'created', entry }
  }

  // Removes an entry and, for a folder, everything under it; returns what was removed.
  remove (entry: Entry): Entry[] {
    const removed = this.#subtree(entry)
    this.#reportRemoval(entry, removed)
    for (const gone of removed) {
      this.#byPath.delete(gone.pathLower)
      this.#byId.delete(gone.id)
    }
    return removed
  }

  // files/move_v2: ids stay (so shared links follow), each moved file gets a new rev, missing
  // parents at the destination are created. A case-only rename is allowed.
  move (entry: Entry, toPath: string, autorename: boolean): MoveOutcome {
    const to = (error: Tagged): MoveOutcome => ({ status: 'failed', error: { '.tag': 'to', to: error } })
    const problem = pathProblem(toPath)
    if (problem) return to({ '.tag': problem })
    const toLower = toPath.toLowerCase()
    if (entry.kind === 'folder' && toLower.startsWith(`${entry.pathLower}/`)) {
      return { status: 'failed', error: { '.tag': 'cant_move_folder_into_itself' } }
    }
    if (this.#hasFileAncestor(toPath)) return to(conflict('file_ancestor'))
    let target = toPath
    const existing = this.#byPath.get(toLower)
    if (existing && (existing !== entry || toPath === entry.pathDisplay)) {
      if (!autorename) return to(conflict(existing.kind))
      for (let attempt = 1; this.#byPath.has(target.toLowerCase()); attempt++) {
        target = `${parentPath(toPath)}/${autorenamed(baseName(toPath), attempt, 'number')}`
      }
    }

    const moved = this.#subtree(entry)
    this.#reportRemoval(entry, moved)
    for (const item of moved) this.#byPath.delete(item.pathLower)
    const parent = this.#ensureParents(target)
    const name = baseName(target)
    const oldLower = entry.pathLower
    const oldDisplay = entry.pathDisplay
    const newLower = `${parent.lower}/${name.toLowerCase()}`
    const newDisplay = `${parent.display}/${name}`
    entry.name = name
    for (const item of moved) {
      item.pathLower = newLower + item.pathLower.slice(oldLower.length)
      item.pathDisplay = newDisplay + item.pathDisplay.slice(oldDisplay.length)
      if (item.kind === 'file') item.rev = this.#newRev()
      this.#byPath.set(item.pathLower, item)
      this.#onChange({ kind: 'put', entry: item })
    }
    return { status: 'moved', entry }
  }

  #subtree (entry: Entry): Entry[] {
    return entry.kind === 'folder' ? this.list(entry.pathLower, true) : [entry]
  }

  // Dropbox reports a deleted folder as one deleted entry; the entries under it are journaled
  // too, marked as covered, for cursors on a folder below it.
  #reportRemoval (entry: Entry, removed: Entry[]): void {
    for (const gone of removed) {
      this.#onChange(gone === entry ? { kind: 'delete', entry: gone } : { kind: 'delete', entry: gone, coveredBy: entry.pathLower })
    }
  }

  // Sorted by path; a recursive listing of a folder starts with the folder itself, as Dropbox's does.
  list (folderLower: string, recursive: boolean): Entry[] {
    const prefix = `${folderLower}/`
    const entries = [...this.#byPath.values()].filter((entry) => {
      if (!entry.pathLower.startsWith(prefix)) return false
      return recursive || !entry.pathLower.slice(prefix.length).includes('/')
    })
    entries.sort(pathOrder)
    const folder = this.#byPath.get(folderLower)
    if (recursive && folder) entries.unshift(folder)
    return entries
  }

  #add (entry: Entry): void {
    this.#byPath.set(entry.pathLower, entry)
    this.#byId.set(entry.id, entry)
    this.#onChange({ kind: 'put', entry })
  }

  #newRev (): string {
    return `${(++this.#revisions).toString(16).padStart(9, '0')}${randomBytes(4).toString('hex')}`
  }
}

function pathOrder (a: Entry, b: Entry): number {
  return a.pathLower < b.pathLower ? -1 : 1
}

function newId (): string {
  return `id:${randomBytes(16).toString('base64url').slice(0, 22)}`
}
