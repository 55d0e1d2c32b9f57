import { readFile } from 'node:fs/promises'
import type { EmulatorState } from './emulator-state.ts'
import { fileMetadata } from './metadata.ts'
import type { StoredFile } from './types.ts'

export function storedFiles (state: EmulatorState): StoredFile[] {
  return state.namespace.files()
    .sort((a, b) => (a.pathLower < b.pathLower ? -1 : 1))
    .map((entry) => ({ ...fileMetadata(entry), diskPath: entry.blob }))
}

// Case-insensitive, like every Dropbox path.
export async function readStoredFile (state: EmulatorState, path: string): Promise<Buffer> {
  const entry = state.namespace.resolve(path)
  if (entry?.kind !== 'file') throw new Error(`no file at ${path} in the Dropbox emulator`)
  return readFile(entry.blob)
}
