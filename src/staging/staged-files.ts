import { mkdir, open, rename, rm, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { DropboxContentHasher } from '../core/content-hash.ts'
import { SNIFF_BYTES, sniffImageType, type ImageType } from '../core/image-type.ts'
import { newUploadId } from '../core/upload-id.ts'
import { withoutHeadLocation } from './location/head-edit.ts'
import { removeManifest } from './manifest.ts'

export interface StagedFile {
  uploadId: string
  path: string
  size: number
  contentHash: string
  type: ImageType
}

/**
 * A file still being received is written under this suffix and renamed to its upload id once
 * complete: a name without it is always a whole file, and one with it that has not grown for
 * longer than the upload idle timeout was left by a process that died (staging-janitor.ts).
 */
export const PARTIAL_SUFFIX = '.partial'

export class NotAnImageError extends Error {
  override name = 'NotAnImageError'
}

export class EmptyFileError extends Error {
  override name = 'EmptyFileError'
}

/**
 * Streams one uploaded file to the staging directory under a fresh upload id, sniffing its
 * first bytes (the upload is cut short as soon as they show it is not an image) and computing
 * the Dropbox content hash on the way, so the bytes are read once and never held whole.
 * The bytes go to `<id>.partial`, renamed to `<id>` once complete; on any failure (the client
 * cut off, a refused type) the partial file is removed before the error propagates.
 *
 * One chunk at a time: each is hashed and written before the next is read. A Transform and a
 * write stream in between held up to four more chunks per upload, which with 200 uploads at
 * once was 20 MiB of the API's memory (BENCHMARKS.md, "Many uploads at once").
 */
export async function stageFile (source: Readable, stagingDir: string, options: { removeLocation?: boolean } = {}): Promise<StagedFile> {
  const uploadId = newUploadId()
  const path = join(stagingDir, uploadId)
  const hasher = new DropboxContentHasher()
  let head = Buffer.alloc(0)
  let type: ImageType | undefined
  let size = 0

  const partial = path + PARTIAL_SUFFIX
  let file: FileHandle | undefined
  try {
    file = await open(partial, 'wx')
    // STRIP_LOCATION: a JPEG's EXIF GPS leaves on the way, before it is hashed (location/head-edit.ts).
    const chunks = options.removeLocation ? withoutHeadLocation(source) : source as AsyncIterable<Buffer>
    for await (const chunk of chunks) {
      size += chunk.length
      hasher.update(chunk)
      if (type === undefined && head.length < SNIFF_BYTES) {
        head = Buffer.concat([head, chunk.subarray(0, SNIFF_BYTES - head.length)])
        if (head.length >= SNIFF_BYTES) {
          type = sniffImageType(head)
          if (!type) throw new NotAnImageError('not an image')
        }
      }
      await writeAll(file, chunk)
    }
    if (size === 0) throw new EmptyFileError('empty file')
    type ??= sniffImageType(head)
    if (!type) throw new NotAnImageError('not an image')
    await file.close()
    file = undefined
    await rename(partial, path)
  } catch (err) {
    await file?.close().catch(() => {})
    await rm(partial, { force: true })
    throw err
  }
  return { uploadId, path, size, contentHash: hasher.digest(), type }
}

async function writeAll (file: FileHandle, chunk: Buffer): Promise<void> {
  for (let offset = 0; offset < chunk.length;) {
    const { bytesWritten } = await file.write(chunk, offset, chunk.length - offset)
    offset += bytesWritten
  }
}

/** Removes staged files and their manifests (staging/manifest.ts). */
export async function removeStaged (paths: Iterable<string>): Promise<void> {
  await Promise.all([...paths].flatMap(p => [removeFile(p), removeManifest(p)]))
}

/**
 * Removes a file that may be gone already: one unlink (rm with `force` looks first, an lstat
 * more per file on the hot path of every upload).
 */
export async function removeFile (path: string): Promise<void> {
  await unlink(path).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err })
}

export async function ensureDir (dir: string): Promise<void> {
  await mkdir(dir, { recursive: true })
}
