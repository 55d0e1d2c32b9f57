import { createWriteStream } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { DropboxContentHasher } from '../core/content-hash.ts'
import { SNIFF_BYTES, sniffImageType, type ImageType } from '../core/image-type.ts'
import { newUploadId } from '../core/upload-id.ts'
import { removeManifest } from './manifest.ts'

export interface StagedFile {
  uploadId: string
  path: string
  size: number
  contentHash: string
  type: ImageType
}

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
 * On any failure the partial file is removed before the error propagates.
 */
export async function stageFile (source: Readable, stagingDir: string): Promise<StagedFile> {
  const uploadId = newUploadId()
  const path = join(stagingDir, uploadId)
  const hasher = new DropboxContentHasher()
  let head = Buffer.alloc(0)
  let type: ImageType | undefined
  let size = 0

  const inspect = new Transform({
    transform (chunk: Buffer, _encoding, callback) {
      size += chunk.length
      hasher.update(chunk)
      if (type === undefined && head.length < SNIFF_BYTES) {
        head = Buffer.concat([head, chunk.subarray(0, SNIFF_BYTES - head.length)])
        if (head.length >= SNIFF_BYTES) {
          type = sniffImageType(head)
          if (!type) return callback(new NotAnImageError('not an image'))
        }
      }
      callback(null, chunk)
    },
    flush (callback) {
      if (size === 0) return callback(new EmptyFileError('empty file'))
      type ??= sniffImageType(head)
      callback(type ? null : new NotAnImageError('not an image'))
    }
  })

  try {
    await pipeline(source, inspect, createWriteStream(path, { flags: 'wx' }))
  } catch (err) {
    await rm(path, { force: true })
    throw err
  }
  return { uploadId, path, size, contentHash: hasher.digest(), type: type! }
}

/** Removes staged files and their manifests (staging/manifest.ts). */
export async function removeStaged (paths: Iterable<string>): Promise<void> {
  await Promise.all([...paths].flatMap(p => [rm(p, { force: true }), removeManifest(p)]))
}

export async function ensureDir (dir: string): Promise<void> {
  await mkdir(dir, { recursive: true })
}
