import { randomUUID } from 'node:crypto'
import { constants, createReadStream } from 'node:fs'
import { access, copyFile, link, mkdir, open, rename, rm, stat, unlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { DropboxContentHasher } from '../core/content-hash.ts'
import { VARIANTS_ROOT } from '../core/image-variants.ts'
import type { StoredFile } from '../core/stored-file.ts'
import { StoragePermanentError } from './errors.ts'
import { numberedName, type ByteRange, type FileToStore, type Storage, type StoredBytes, type WrittenFile } from './storage.ts'

const MAX_RENAMES = 1000
// Errors of a name, not of the disk: too long (255 bytes per component), invalid, or not in the
// encoding the file system enforces.
const NAME_REFUSED = new Set(['ENAMETOOLONG', 'EINVAL', 'EILSEQ'])

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
    try {
      return await this.#put(file)
    } catch (err) {
      // A name the file system refuses is refused for good: no retry can store it.
      if (NAME_REFUSED.has((err as NodeJS.ErrnoException).code ?? '')) {
        throw new StoragePermanentError(`the file system refused the name ${file.folder}/${file.name} (${(err as NodeJS.ErrnoException).code})`, { cause: err })
      }
      throw err
    }
  }

  async #put (file: FileToStore): Promise<StoredFile> {
    for (let n = 0; n <= MAX_RENAMES; n++) {
      const name = n === 0 ? file.name : numberedName(file.name, n)
      const target = join(this.#root, file.folder, name)
      const placed = await this.#placeInFolder(file, target)
      // A file already there with the same bytes is this job's own earlier attempt.
      if (placed || await hashFile(target) === file.contentHash) {
        return { path: `/${file.folder}/${name}`, name, size: file.size, contentHash: file.contentHash }
      }
    }
    throw new Error(`more than ${MAX_RENAMES} files named like ${file.name}`)
  }

  /** placeExclusive, making the phone number's folder first when it is not there yet (only then: a mkdir per upload costs). */
  async #placeInFolder (file: FileToStore, target: string): Promise<boolean> {
    try {
      return await placeExclusive(file.stagedPath, target)
    } catch (err) {
      // ENOENT: the folder (or the staged file: then placing fails again, as it should).
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      await mkdir(join(this.#root, file.folder), { recursive: true })
      return placeExclusive(file.stagedPath, target)
    }
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
      const found = await stat(full)
      if (found.isDirectory()) {
        // Only an image's variant folder is ever removed whole; a phone number's never.
        if (path.split('/').filter(Boolean)[0] !== VARIANTS_ROOT) throw new StoragePermanentError(`${path} is a folder`)
        await rm(full, { recursive: true, force: true })
      } else {
        await unlink(full)
      }
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
      throw err
    }
  }

  async read (path: string, range?: ByteRange): Promise<StoredBytes | undefined> {
    let handle
    try {
      handle = await open(this.fullPath(path), 'r')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'EISDIR') return undefined
      throw err
    }
    // Opened first, then measured: a file replaced meanwhile is read whole, as it was opened.
    const { size, isFile } = await handle.stat().then(s => ({ size: s.size, isFile: s.isFile() }))
    if (!isFile) {
      await handle.close()
      return undefined
    }
    const body = handle.createReadStream(range ? { start: range.start, end: range.end } : {})
    return range ? { body, size, range } : { body, size }
  }

  async write (path: string, bytes: Buffer): Promise<WrittenFile> {
    const full = this.fullPath(path)
    await mkdir(dirname(full), { recursive: true })
    // Written beside, then renamed over: a reader sees the old bytes or the new, never a part.
    const temporary = join(dirname(full), `.partial-${randomUUID()}`)
    try {
      await writeFile(temporary, bytes)
      await rename(temporary, full)
    } finally {
      await rm(temporary, { force: true })
    }
    return { path, size: bytes.length, contentHash: new DropboxContentHasher().update(bytes).digest() }
  }

  successMessage (fileName: string): string {
    return `File '${fileName}' uploaded successfully to local storage`
  }

  async checkReady (): Promise<void> {
    // The root is made on first use; a read-only or full mount, or a root owned by another user, fails here.
    await mkdir(this.#root, { recursive: true })
    await access(this.#root, constants.W_OK)
  }

  /**
   * The disk path of a storage path, refusing anything that would escape the root: /<folder>/<name>,
   * or in the variants' dot folder /.variants/<upload id>[/<name>].
   */
  fullPath (path: string): string {
    const parts = path.split('/').filter(Boolean)
    const depth = parts[0] === VARIANTS_ROOT ? [2, 3] : [2]
    if (!depth.includes(parts.length) || parts.some(p => p === '.' || p === '..')) throw new StoragePermanentError(`bad storage path ${path}`)
    return join(this.#root, ...parts)
  }

  async close (): Promise<void> {}
}
