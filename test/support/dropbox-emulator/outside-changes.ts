import { writeFile } from 'node:fs/promises'
import { contentHash } from './content-hash.ts'
import { errorSummary, type Tagged } from './dropbox-errors.ts'
import type { EmulatorState } from './emulator-state.ts'
import { deleteAt, moveTo, type ChangeResult } from './file-changes.ts'
import { fileMetadata, taggedMetadata } from './metadata.ts'
import type { Content } from './namespace.ts'
import type { FolderMetadata, Metadata, OutsideFileOptions, TaggedFileMetadata } from './types.ts'

// Changes a user makes in the Dropbox app or website rather than through this app's API calls:
// no token, no faults, no counters, but journaled and notified like any other change. The
// in-process API and the HTTP controls both come here.

// A change Dropbox would refuse; `error` is the union the matching API route would answer with.
export class OutsideChangeError extends Error {
  readonly error: Tagged

  constructor (action: string, error: Tagged) {
    super(`${action} refused: ${errorSummary(error)}`)
    this.name = 'OutsideChangeError'
    this.error = error
  }
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/

// Takes ownership of content.blob: it ends in the namespace or is discarded.
export function placeFile (state: EmulatorState, path: string, content: Content, options: OutsideFileOptions = {}): TaggedFileMetadata {
  const { mode = 'overwrite', autorename = false, clientModified } = options
  if (clientModified !== undefined && !TIMESTAMP.test(clientModified)) {
    state.store.discard(content.blob)
    throw new TypeError(`clientModified must look like 2024-01-31T12:00:00Z, got ${clientModified}`)
  }
  const outcome = state.namespace.write({ path, mode: { tag: mode }, autorename, strictConflict: false, clientModified, content })
  if (outcome.status === 'failed') {
    state.store.discard(content.blob)
    throw new OutsideChangeError(`adding ${path}`, { '.tag': 'path', reason: outcome.error })
  }
  if (outcome.status === 'unchanged') state.store.discard(content.blob)
  else if (outcome.replacedBlob) state.store.discard(outcome.replacedBlob)
  return { '.tag': 'file', ...fileMetadata(outcome.entry) }
}

export async function addFile (state: EmulatorState, path: string, contents: Uint8Array | string, options?: OutsideFileOptions): Promise<TaggedFileMetadata> {
  const bytes = typeof contents === 'string' ? Buffer.from(contents) : contents
  const blob = state.store.newFile('upload')
  await writeFile(blob, bytes)
  return placeFile(state, path, { blob, size: bytes.byteLength, contentHash: contentHash(bytes) }, options)
}

export function addFolder (state: EmulatorState, path: string): FolderMetadata {
  const outcome = state.namespace.createFolder(path)
  if (outcome.status === 'failed') throw new OutsideChangeError(`creating folder ${path}`, { '.tag': 'path', path: outcome.error })
  return taggedMetadata(outcome.entry) as FolderMetadata
}

export function deletePath (state: EmulatorState, path: string): Metadata {
  return settled(`deleting ${path}`, deleteAt(state, path))
}

export function movePath (state: EmulatorState, fromPath: string, toPath: string, autorename = false): Metadata {
  if (!toPath.startsWith('/')) throw new OutsideChangeError(`moving ${fromPath}`, { '.tag': 'to', to: { '.tag': 'malformed_path' } })
  return settled(`moving ${fromPath}`, moveTo(state, fromPath, toPath, autorename))
}

function settled (action: string, result: ChangeResult): Metadata {
  if (!result.ok) throw new OutsideChangeError(action, result.error)
  return result.metadata
}
