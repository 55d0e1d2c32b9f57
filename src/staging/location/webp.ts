import { UnreadableMetadataError, type ByteReader } from './byte-reader.ts'
import { addTiff, nothingFound, tiffStart, type Found } from './found.ts'
import { bufferAccess, scanTiff } from './tiff.ts'

const MAX_CHUNK = 16 * 1024 * 1024

/** A WebP is a RIFF file: EXIF and XMP are chunks of their own ("EXIF", "XMP "). */
export async function scanWebp (reader: ByteReader): Promise<Found> {
  const found = nothingFound()
  const end = 8 + (await reader.read(4, 4)).readUInt32LE(0)
  if (end > reader.size) throw new UnreadableMetadataError('the WebP file is shorter than its RIFF header says')
  let at = 12
  while (at + 8 <= end) {
    const header = await reader.read(at, 8)
    const fourcc = header.toString('latin1', 0, 4)
    const size = header.readUInt32LE(4)
    if (at + 8 + size > end) throw new UnreadableMetadataError(`the WebP chunk '${fourcc}' runs past the end of the file`)
    if (fourcc === 'EXIF' || fourcc === 'XMP ') {
      if (size > MAX_CHUNK) throw new UnreadableMetadataError(`the WebP chunk '${fourcc}' is too large to check`)
      const data = await reader.read(at + 8, size)
      if (fourcc === 'XMP ') {
        found.xmp.push(data)
      } else {
        const start = tiffStart(data)
        addTiff(found, await scanTiff(bufferAccess(data.subarray(start))), at + 8 + start)
      }
    }
    at += 8 + size + (size & 1)
  }
  return found
}
