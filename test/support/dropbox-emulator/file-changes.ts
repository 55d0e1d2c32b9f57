import { conflict, type Tagged } from './dropbox-errors.ts'
import type { EmulatorState } from './emulator-state.ts'
import { lookup } from './lookup.ts'
import { taggedMetadata } from './metadata.ts'
import type { Metadata } from './types.ts'

// Deleting and moving, shared by the API routes and the controls that change the account "from
// outside". Each is one synchronous namespace change, which the namespace journals.

export type ChangeResult = { ok: true, metadata: Metadata } | { ok: false, error: Tagged }

// files/delete_v2; the error is a files.DeleteError.
export function deleteAt (state: EmulatorState, path: string, parentRev?: string): ChangeResult {
  const found = lookup(state, path)
  if ('error' in found) return { ok: false, error: { '.tag': 'path_lookup', path_lookup: found.error } }
  const { entry } = found
  if (parentRev !== undefined && (entry.kind !== 'file' || entry.rev !== parentRev)) {
    return { ok: false, error: { '.tag': 'path_write', path_write: conflict('file') } }
  }
  const metadata = taggedMetadata(entry)
  for (const removed of state.namespace.remove(entry)) {
    state.links.removeTarget(removed.id)
    if (removed.kind === 'file') state.store.discard(removed.blob)
  }
  return { ok: true, metadata }
}

// files/move_v2; the error is a files.RelocationError.
export function moveTo (state: EmulatorState, fromPath: string, toPath: string, autorename: boolean): ChangeResult {
  const found = lookup(state, fromPath)
  if ('error' in found) return { ok: false, error: { '.tag': 'from_lookup', from_lookup: found.error } }
  const outcome = state.namespace.move(found.entry, toPath, autorename)
  if (outcome.status === 'failed') return { ok: false, error: outcome.error }
  return { ok: true, metadata: taggedMetadata(outcome.entry) }
}
