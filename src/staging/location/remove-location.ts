import { open, type FileHandle } from 'node:fs/promises'
import type { ExifTool } from 'exiftool-vendored'
import { DropboxContentHasher } from '../../core/content-hash.ts'
import type { ImageType } from '../../core/image-type.ts'
import { ByteReader, UnreadableMetadataError } from './byte-reader.ts'
import { nothingFound, type Found } from './found.ts'
import { scanGif } from './gif.ts'
import { scanHeif } from './heif.ts'
import { scanJpeg } from './jpeg.ts'
import { scanPng } from './png.ts'
import { scanTiff } from './tiff.ts'
import { scanWebp } from './webp.ts'
import { xmpHasLocation } from './xmp.ts'

export { UnreadableMetadataError } from './byte-reader.ts'

/** ExifTool could not take a location out (or one is still there after it did). */
export class LocationNotRemovedError extends Error {
  override name = 'LocationNotRemovedError'
}

/** What removeLocation needs of exiftool-vendored's ExifTool (a pool of long-lived processes). */
export type MetadataWriter = Pick<ExifTool, 'write' | 'version'>

/** Where a file holds a location, and how it can be taken out. */
export interface LocationFound {
  /** Same-length byte patches that take out every EXIF GPS IFD (no offset moves, pixels untouched). */
  patches: Array<{ offset: number, bytes: Buffer }>
  /** Location only a rewrite of the metadata can take out (XMP GPS properties, EXIF kept as text). */
  rewrite: string[]
}

export interface LocationRemoved {
  how: 'in-place' | 'exiftool'
  /** The file's new size and Dropbox content hash: the stored bytes' own. */
  size: number
  contentHash: string
}

// ExifTool's arguments: the EXIF GPS IFD, every XMP property whose name holds "GPS" (exif:GPS*,
// the IPTC Extension's LocationCreated/LocationShown GPS fields, drone makers' own), QuickTime's
// GPSCoordinates (HEIF/AVIF sequences). The rest of the metadata stays; -overwrite_original
// writes a temporary file (`<name>_exiftool_tmp`) and renames it over the file.
const EXIFTOOL_ARGS = ['-overwrite_original', '-gps:all=', '-xmp:*gps*=', '-quicktime:*gps*=']

async function scan (path: string, reader: ByteReader, type: ImageType): Promise<Found> {
  switch (type.mime) {
    case 'image/jpeg': return scanJpeg(reader)
    case 'image/png': return scanPng(reader)
    case 'image/webp': return scanWebp(reader)
    case 'image/gif': return scanGif(path, reader)
    case 'image/bmp': return nothingFound() // BMP has no metadata blocks
    case 'image/tiff': {
      const tiff = await scanTiff(reader)
      return { patches: tiff.patches, xmp: tiff.xmp, rewrite: [] }
    }
    default: return scanHeif(reader) // HEIC/HEIF and AVIF, stills and sequences
  }
}

async function findIn (path: string, reader: ByteReader, type: ImageType): Promise<LocationFound> {
  try {
    const found = await scan(path, reader, type)
    const rewrite = [...found.rewrite]
    if (found.xmp.some(xmpHasLocation)) rewrite.push('GPS properties in XMP')
    return { patches: found.patches, rewrite }
  } catch (err) {
    // A structure cut short reads as a RangeError from Buffer: the same as unreadable.
    if (err instanceof RangeError) throw new UnreadableMetadataError(`the metadata is truncated (${err.message})`)
    throw err
  }
}

/**
 * Finds location metadata in a staged file by reading its metadata blocks only (a few small
 * positioned reads; a GIF is streamed through). Throws UnreadableMetadataError when the blocks
 * where a location would be cannot be read: such a file cannot be shown to hold none.
 */
export async function findLocation (path: string, type: ImageType): Promise<LocationFound> {
  const file = await open(path, 'r')
  try {
    return await findIn(path, new ByteReader(file, (await file.stat()).size), type)
  } finally {
    await file.close()
  }
}

const holdsLocation = (found: LocationFound): boolean => found.patches.length > 0 || found.rewrite.length > 0

const CLUSTER_GAP = 64 * 1024

/**
 * Writes the patches, near ones together: the bytes between them are taken from the reader that
 * found them (its window still holds them), so a photo's EXIF edit is one write.
 */
async function applyPatches (file: FileHandle, reader: ByteReader, patches: LocationFound['patches']): Promise<void> {
  const ranges = [...patches].sort((a, b) => a.offset - b.offset)
  const clusters: Array<{ start: number, end: number }> = []
  for (const { offset, bytes } of ranges) {
    const last = clusters.at(-1)
    if (last && offset <= last.end + CLUSTER_GAP) last.end = Math.max(last.end, offset + bytes.length)
    else clusters.push({ start: offset, end: offset + bytes.length })
  }
  for (const { start, end } of clusters) {
    const block = Buffer.from(await reader.read(start, end - start))
    // In the scan's order: should two patches overlap (a crafted file), the later one wins, as found.
    for (const p of patches) if (p.offset >= start && p.offset < end) p.bytes.copy(block, p.offset - start)
    let written = 0
    while (written < block.length) written += (await file.write(block, written, block.length - written, start + written)).bytesWritten
    reader.wrote(start, block)
  }
}

async function rewriteWithExifTool (path: string, exiftool: MetadataWriter): Promise<void> {
  try {
    await exiftool.write(path, {}, EXIFTOOL_ARGS)
  } catch (err) {
    // ExifTool refused this file, or ExifTool itself is broken (no perl, a crashed pool): the
    // first is the file's problem (4xx), the second ours. Asking its version tells them apart.
    await exiftool.version()
    throw new LocationNotRemovedError('ExifTool could not rewrite the metadata', { cause: err })
  }
}

const HASH_PIECE = 1024 * 1024

/** Dropbox's content hash of the whole file, read through the open handle. */
async function contentHashOf (file: FileHandle, size: number): Promise<string> {
  const hasher = new DropboxContentHasher()
  const piece = Buffer.allocUnsafe(Math.min(size, HASH_PIECE))
  for (let at = 0; at < size;) {
    const { bytesRead } = await file.read(piece, 0, Math.min(piece.length, size - at), at)
    if (bytesRead === 0) throw new Error(`the staged file ${file.fd} ended early`)
    hasher.update(piece.subarray(0, bytesRead))
    at += bytesRead
  }
  return hasher.digest()
}

/**
 * Takes location metadata out of a staged file, in place, before anything about it is durable.
 * A file without location is left byte for byte as it is (undefined). EXIF GPS alone, the case of
 * phone photos, is patched in place by the bytes (well under a millisecond); anything else goes
 * through ExifTool (milliseconds, in its own processes). Either way the file is scanned again
 * after, and a location still found is a LocationNotRemovedError. Pixels are never touched: only
 * metadata blocks are written. `size` is the staged file's (known from staging: no stat).
 */
export async function removeLocation (staged: { path: string, type: ImageType, size: number }, exiftool: MetadataWriter): Promise<LocationRemoved | undefined> {
  const { path, type } = staged
  // One handle for the scan, the patch, the check and the hash: every file operation is a trip
  // through libuv's thread pool, and this runs for every upload.
  let file = await open(path, 'r+')
  let isOpen = true
  try {
    const reader = new ByteReader(file, staged.size)
    const found = await findIn(path, reader, type)
    if (!holdsLocation(found)) return undefined
    const how = found.rewrite.length > 0 ? 'exiftool' : 'in-place'
    let size = staged.size
    if (how === 'in-place') {
      await applyPatches(file, reader, found.patches)
    } else {
      await file.close()
      isOpen = false
      await rewriteWithExifTool(path, exiftool)
      // ExifTool renamed a new file over the old one: open that.
      file = await open(path, 'r')
      isOpen = true
      size = (await file.stat()).size
    }
    let after: LocationFound
    try {
      // In place, the reader's cache holds the patched bytes: the check costs no read.
      after = await findIn(path, how === 'in-place' ? reader : new ByteReader(file, size), type)
    } catch (err) {
      if (err instanceof UnreadableMetadataError) throw new LocationNotRemovedError('the metadata cannot be read after the location was removed', { cause: err })
      throw err
    }
    if (holdsLocation(after)) throw new LocationNotRemovedError(`a location is still there: ${[...after.rewrite, ...after.patches.length > 0 ? ['EXIF GPS'] : []].join(', ')}`)
    return { how, size, contentHash: await contentHashOf(file, size) }
  } finally {
    if (isOpen) await file.close()
  }
}
