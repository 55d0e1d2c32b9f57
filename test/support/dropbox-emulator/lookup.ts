import { notFound, type Tagged } from './dropbox-errors.ts'
import type { EmulatorState } from './emulator-state.ts'
import type { Entry } from './namespace.ts'
import { pathProblem } from './paths.ts'

export type Lookup = { entry: Entry } | { error: Tagged } // a files.LookupError

export function lookup (state: EmulatorState, path: string): Lookup {
  if (path.startsWith('/')) {
    const problem = pathProblem(path)
    if (problem === 'malformed_path') return { error: { '.tag': 'malformed_path' } }
  }
  const entry = state.namespace.resolve(path)
  return entry ? { entry } : { error: notFound }
}
