import { randomBytes } from 'node:crypto'
import { conflict, type Tagged } from './dropbox-errors.ts'
import { autorenamed, baseName, parentPath, pathComponents, pathProblem } from './paths.ts'
import type { WriteMode } from './route-args.ts'

// The account's file tree. Keys are lowercased paths (Dropbox paths are case-insensitive); an
// entry keeps the case it was first created with.

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

export type WriteOutcome =
  | { status: 'written', entry: FileEntry, replacedBlob?: string }
  | { status: 'unchanged', entry: FileEntry }
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

  // Synchronous on purpose: deciding and applying a write cannot interleave with another commit.
  write (request: WriteRequest): WriteOutcome {
    let path = request.path
    if (path.startsWith('id:')) path = this.#byId.get(path)?.pathDisplay ?? ''
    if (!path.startsWith('/')) return { status: 'failed', error: { '.tag': 'malformed_path' } }
    const problem = pathProblem(path)
    if (problem) return { status: 'failed', error: { '.tag': problem } }

    const names = pathComponents(path)
    for (let i = 1; i < names.length; i++) {
      const ancestor = this.#byPath.get(`/${names.slice(0, i).join('/')}`.toLowerCase())
      if (ancestor?.kind === 'file') return { status: 'failed', error: conflict('file_ancestor') }
    }

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

  // Missing parent folders are created implicitly; existing ones keep their display case.
  #create (path: string, request: WriteRequest): WriteOutcome {
    const names = pathComponents(path)
    let parentLower = ''
    let parentDisplay = ''
    for (const name of names.slice(0, -1)) {
      const pathLower = `${parentLower}/${name.toLowerCase()}`
      let folder = this.#byPath.get(pathLower)
      if (!folder) {
        folder = { kind: 'folder', id: newId(), name, pathLower, pathDisplay: `${parentDisplay}/${name}` }
        this.#add(folder)
      }
      parentLower = folder.pathLower
      parentDisplay = folder.pathDisplay
    }
    const name = names[names.length - 1] ?? ''
    const now = timestamp()
    const entry: FileEntry = {
      kind: 'file',
      id: newId(),
      name,
      pathLower: `${parentLower}/${name.toLowerCase()}`,
      pathDisplay: `${parentDisplay}/${name}`,
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
    return { status: 'written', entry, replacedBlob }
  }

  // Removes an entry and, for a folder, everything under it; returns what was removed.
  remove (entry: Entry): Entry[] {
    const removed = entry.kind === 'folder' ? this.list(entry.pathLower, true) : [entry]
    for (const gone of removed) {
      this.#byPath.delete(gone.pathLower)
      this.#byId.delete(gone.id)
    }
    return removed
  }

  // Sorted by path; a recursive listing of a folder starts with the folder itself, as Dropbox's does.
  list (folderLower: string, recursive: boolean): Entry[] {
    const prefix = `${folderLower}/`
    const entries = [...this.#byPath.values()].filter((entry) => {
      if (!entry.pathLower.startsWith(prefix)) return false
      return recursive || !entry.pathLower.slice(prefix.length).includes('/')
    })
    entries.sort((a, b) => (a.pathLower < b.pathLower ? -1 : 1))
    const folder = this.#byPath.get(folderLower)
    if (recursive && folder) entries.unshift(folder)
    return entries
  }

  #add (entry: Entry): void {
    this.#byPath.set(entry.pathLower, entry)
    this.#byId.set(entry.id, entry)
  }

  #newRev (): string {
    return `${(++this.#revisions).toString(16).padStart(9, '0')}${randomBytes(4).toString('hex')}`
  }
}

function newId (): string {
  return `id:${randomBytes(16).toString('base64url').slice(0, 22)}`
}
