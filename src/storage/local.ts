import { randomUUID } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { copyFile, link, mkdir, rm, stat, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { DropboxContentHasher } from '../core/content-hash.ts'
import type { StoredFile } from '../core/stored-file.ts'
import { StoragePermanentError } from './errors.ts'
import { numberedName, type FileToStore, type Storage } from './storage.ts'

const MAX_RENAMES = 1000

async function hashFile (path: string): Promise<string> {
  const hasher = new DropboxContentHasher()
  await pipeline(createReadStream(path), async function (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) hasher.update(chunk)
  })
  return hasher.digest()
}

/** Places `from` at `to` without ever replacing an existing file: false when `to` exists. */
async function placeExclusive (from: string, to: string): Promise<boolean> {
  try {
    // A hard link moves no bytes when staging and data share a file system.
    await link(from, to)
    return true
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return false
    if (code !== 'EXDEV') throw err
  }
  // Different file systems: copy beside the target, then link, so the target name never holds
  // a partial file, whatever happens mid-copy.
  const temporary = join(dirname(to), `.partial-${randomUUID()}`)
  try {
    await copyFile(from, temporary)
    return await placeExclusive(temporary, to)
  } finally {
    await rm(temporary, { force: true })
  }
}

/** Files on local disk under DATA_DIR/<folder>/<name>, served by the API under /files/. */
export class LocalStorage implements Storage {
  readonly kind = 'local'
  readonly #root: string
  readonly #publicBaseUrl: string

  constructor (root: string, publicBaseUrl: string) {
    this.#root = root
    this.#publicBaseUrl = publicBaseUrl
  }

  async put (file: FileToStore): Promise<StoredFile> {
    await mkdir(join(this.#root, file.folder), { recursive: true })
    for (let n = 0; n <= MAX_RENAMES; n++) {
      const name = n === 0 ? file.name : numberedName(file.name, n)
      const target = join(this.#root, file.folder, name)
      const placed = await placeExclusive(file.stagedPath, target)
      // A file already there with the same bytes is this job's own earlier attempt.
      if (placed || await hashFile(target) === file.contentHash) {
        return { path: `/${file.folder}/${name}`, name, size: file.size, contentHash: file.contentHash }
      }
    }
    throw new Error(`more than ${MAX_RENAMES} files named like ${file.name}`)
  }

  async holds (stored: StoredFile): Promise<boolean> {
    return hashFile(this.fullPath(stored.path)).then(hash => hash === stored.contentHash, () => false)
  }

  async publicUrl (stored: StoredFile): Promise<string> {
    const parts = stored.path.split('/').filter(Boolean).map(encodeURIComponent)
    return `${this.#publicBaseUrl}/files/${parts.join('/')}`
  }

  async remove (path: string): Promise<boolean> {
    const full = this.fullPath(path)
    try {
      await stat(full)
      await unlink(full)
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
      throw err
    }
  }

  successMessage (fileName: string): string {
    return `File '${fileName}' uploaded successfully to local storage`
  }

  /** The disk path of a storage path, refusing anything that would escape the root. */
  fullPath (path: string): string {
    const parts = path.split('/').filter(Boolean)
    if (parts.length !== 2 || parts.some(p => p === '.' || p === '..')) throw new StoragePermanentError(`bad storage path ${path}`)
    return join(this.#root, ...parts)
  }

  async close (): Promise<void> {}
}
