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
    const count = (file: FileOutcome) => done.filter(o => o.file === file).length
    const parts = [
      [count('deleted'), 'deleted'],
      [count('already-gone'), 'already gone from storage'],
      [count('kept'), 'kept'],
      [count('shared'), 'kept because other records use them']
    ].filter(([n]) => (n as number) > 0).map(([n, what]) => `${n} ${what}`)
    flashes.push({ kind: 'success', text: `Deleted ${done.length} records. Stored files: ${parts.join(', ')}.` })
  }
  for (const o of failed.slice(0, 10)) flashes.push({ kind: 'error', text: failure(o) })
  if (failed.length > 10) flashes.push({ kind: 'error', text: `${failed.length - 10} more records were not deleted, for the same kinds of reasons.` })
  if (vanished > 0) flashes.push({ kind: 'warning', text: `${vanished === 1 ? 'One selected record' : `${vanished} selected records`} had already been deleted.` })
  return flashes
}
