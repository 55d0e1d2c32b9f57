import { contentHashOfFile } from './content-hash.ts'
import type { Tagged } from './dropbox-errors.ts'
import type { EmulatorState } from './emulator-state.ts'
import type { Content, FileEntry } from './namespace.ts'
import type { CommitArg } from './route-args.ts'

export type CommitResult = { ok: true, entry: FileEntry } | { ok: false, error: Tagged }

// Writes received bytes at commit.path. On success the blob belongs to the namespace (or is
// dropped when identical content made the write a no-op); on failure it stays with the caller.
export async function commitFile (state: EmulatorState, commit: CommitArg, content: Content): Promise<CommitResult> {
  const outcome = state.namespace.write({ ...commit, content })
  if (outcome.status === 'failed') return { ok: false, error: outcome.error }
  if (outcome.status === 'unchanged') {
    state.store.discard(content.blob)
    return { ok: true, entry: outcome.entry }
  }
  state.counters.filesWritten++
  if (outcome.replacedBlob) state.store.discard(outcome.replacedBlob)
  const { entry } = outcome
  // The corruptNextUploads fault: the stored bytes differ from what was sent, and the metadata
  // says so through its content_hash, which is what a careful client checks.
  if (state.faults.corruptNextUploads > 0 && entry.size > 0) {
    state.faults.corruptNextUploads--
    await state.store.flipByte(entry.blob, entry.size)
    state.namespace.contentChanged(entry, await contentHashOfFile(entry.blob))
  }
  return { ok: true, entry }
}
