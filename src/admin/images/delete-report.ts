import type { Flash } from '../auth/session-store.ts'
import type { DeleteOutcome, FileOutcome } from './delete.ts'

const FILE_SENTENCE: Record<Exclude<FileOutcome, 'failed'>, string> = {
  deleted: 'Its stored file was deleted.',
  'already-gone': 'Its stored file was already gone from storage.',
  kept: 'The stored file was kept.',
  shared: 'The stored file was kept: another record still uses it.'
}

function failure (o: DeleteOutcome): string {
  if (o.file === 'failed') {
    return `'${o.fileName}' was not deleted: its stored file could not be deleted (${o.error}). The record was kept so the file is not lost track of; try again later, or delete the record only.`
  }
  const fileDone = o.file === 'deleted' || o.file === 'already-gone'
  return `'${o.fileName}' was not deleted: ${o.error}.${fileDone ? ' Its stored file is gone; delete the record again to finish.' : ''}`
}

const FILE_PHRASE: Record<Exclude<FileOutcome, 'failed'>, [string, string]> = {
  deleted: ['deleted', 'deleted'],
  'already-gone': ['already gone from storage', 'already gone from storage'],
  kept: ['kept', 'kept'],
  shared: ['kept because another record uses it', 'kept because other records use them']
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`

/** The outcome of one stored file, for the records of a deletion that were deleted. */
export function fileOutcomes (done: DeleteOutcome[]): Map<string, FileOutcome> {
  return new Map(done.map(o => [o.fileKey, o.file]))
}

/**
 * Records and stored files are counted apart: records of one upload retried may share a file, and
 * such a file is deleted (or kept) once, so "3 deleted" would claim files that never existed.
 */
function bulkSentence (done: DeleteOutcome[]): string {
  const files = fileOutcomes(done)
  const counts = new Map<FileOutcome, number>()
  for (const outcome of files.values()) counts.set(outcome, (counts.get(outcome) ?? 0) + 1)
  const parts = (['deleted', 'already-gone', 'kept', 'shared'] as const)
    .filter(kind => (counts.get(kind) ?? 0) > 0)
    .map(kind => {
      const n = counts.get(kind)!
      const [one, many] = FILE_PHRASE[kind]
      return `${plural(n, 'file', 'files')} ${n === 1 ? one : many}`
    })
  const records = `${plural(done.length, 'record', 'records')} deleted`
  return files.size < done.length
    ? `${records}; they pointed at ${plural(files.size, 'stored file', 'stored files')}: ${parts.join(', ')}.`
    : `${records}. Stored files: ${parts.join(', ')}.`
}

/** What the operator is told after a delete: what happened to each record and stored file. */
export function deleteReport (outcomes: DeleteOutcome[], requested: number): Flash[] {
  const flashes: Flash[] = []
  const done = outcomes.filter(o => o.recordDeleted)
  const failed = outcomes.filter(o => o.error !== undefined)
  const vanished = requested - done.length - failed.length

  if (done.length === 1 && outcomes.length === 1) {
    const o = done[0]!
    flashes.push({ kind: 'success', text: `Deleted the record of '${o.fileName}'. ${FILE_SENTENCE[o.file as Exclude<FileOutcome, 'failed'>]}` })
  } else if (done.length > 0) {
    flashes.push({ kind: 'success', text: bulkSentence(done) })
  }
  for (const o of failed.slice(0, 10)) flashes.push({ kind: 'error', text: failure(o) })
  if (failed.length > 10) flashes.push({ kind: 'error', text: `${failed.length - 10} more records were not deleted, for the same kinds of reasons.` })
  if (vanished > 0) flashes.push({ kind: 'warning', text: `${vanished === 1 ? 'One selected record' : `${vanished} selected records`} had already been deleted.` })
  return flashes
}
