import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { DropboxContentHasher } from '../core/content-hash.ts'
import { SNIFF_BYTES, sniffImageType, type ImageType } from '../core/image-type.ts'
import { EmptyFileError, NotAnImageError } from './staged-files.ts'

export interface InspectedFile {
  size: number
  contentHash: string
  type: ImageType
}

/**
 * What stageFile learns while streaming, for bytes that arrived another way (a resumable upload,
 * written PATCH by PATCH, possibly through several API processes): the type from the first
 * bytes (refused before anything else is read), then the Dropbox content hash in one read.
 */
export async function inspectFile (path: string): Promise<InspectedFile> {
  const head = Buffer.alloc(SNIFF_BYTES)
  const file = await open(path, 'r')
  let headLength: number
  try {
    headLength = (await file.read(head, 0, SNIFF_BYTES, 0)).bytesRead
  } finally {
    await file.close()
  }
  if (headLength === 0) throw new EmptyFileError('empty file')
  const type = sniffImageType(head.subarray(0, headLength))
  if (!type) throw new NotAnImageError('not an image')

  const hasher = new DropboxContentHasher()
  let size = 0
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    size += (chunk as Buffer).length
    hasher.update(chunk as Buffer)
  }
  return { size, contentHash: hasher.digest(), type }
}
