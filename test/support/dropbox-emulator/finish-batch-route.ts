import { apiRoute, type ApiCall } from './api-call.ts'
import { commitFile } from './commit-file.ts'
import { incorrectOffset, lookupFailed, notFound, type Tagged } from './dropbox-errors.ts'
import type { EmulatorState } from './emulator-state.ts'
import { fileMetadata } from './metadata.ts'
import { parseFinishBatchArg, type FinishArg } from './route-args.ts'

// files/upload_session/finish_batch_v2: one commit (one namespace lock) for up to 1,000 closed
// sessions; always 200, each entry a success or a failure.
async function finishBatch (call: ApiCall, arg: { entries: FinishArg[] }): Promise<void> {
  const { state } = call
  state.counters.batchEntries += arg.entries.length
  const entries: Tagged[] = []
  for (const entry of arg.entries) entries.push(await finishEntry(state, entry))
  state.counters.commits++
  return call.json({ entries })
}

async function finishEntry (state: EmulatorState, { cursor, commit }: FinishArg): Promise<Tagged> {
  // The batchEntryFailures fault. The session is left untouched, so retrying the entry works.
  if (state.faults.batchEntryFailures > 0) {
    state.faults.batchEntryFailures--
    state.counters.batchEntryFailures++
    return failure({ '.tag': 'too_many_write_operations' })
  }
  const session = state.sessions.get(cursor.sessionId)
  if (!session) return failure(lookupFailed(notFound))
  if (!session.closed) return failure(lookupFailed({ '.tag': 'not_closed' }))
  if (session.busy || cursor.offset !== session.offset) return failure(lookupFailed(incorrectOffset(session.offset)))
  session.busy = true
  try {
    const contentHash = session.hasher.copy().digest()
    const result = await commitFile(state, commit, { blob: session.file, size: session.offset, contentHash })
    if (!result.ok) return failure({ '.tag': 'path', path: result.error })
    state.sessions.delete(session.id)
    return { '.tag': 'success', ...fileMetadata(result.entry) }
  } finally {
    session.busy = false
  }
}

function failure (error: Tagged): Tagged {
  return { '.tag': 'failure', failure: error }
}

export const finishBatchRoutes = {
  'files/upload_session/finish_batch_v2': apiRoute({ style: 'rpc', commit: true, parse: parseFinishBatchArg, handle: finishBatch })
}
