import { UnreadableMetadataError } from './byte-reader.ts'
import { addTiff, nothingFound, tiffStart, type Found } from './found.ts'
import { bufferAccess, scanTiff, type RandomAccess } from './tiff.ts'

const XMP_ID = 'http://ns.adobe.com/xap/1.0/\0'
const EXTENDED_XMP_ID = 'http://ns.adobe.com/xmp/extension/\0'
const SOS = 0xda
const EOI = 0xd9
const APP1 = 0xe1

/**
 * A JPEG's metadata is in its marker segments before the first scan (SOS): APP1 holds EXIF and
 * XMP (extended XMP in several APP1s). The walk stops at SOS, so the image data is never read.
 */
export async function scanJpeg (reader: RandomAccess): Promise<Found> {
  const found = nothingFound()
  const extended: Buffer[] = []
  let at = 2
  for (;;) {
    const marker = await reader.read(at, 2)
    if (marker[0] !== 0xff) throw new UnreadableMetadataError(`no JPEG marker where one belongs (offset ${at})`)
    const code = marker[1]!
    if (code === 0xff) { at += 1; continue } // fill byte
    if (code === SOS || code === EOI) break
    if ((code >= 0xd0 && code <= 0xd7) || code === 0x01) { at += 2; continue } // no length
    const length = (await reader.read(at + 2, 2)).readUInt16BE(0)
    if (length < 2) throw new UnreadableMetadataError(`a JPEG segment has an impossible length (offset ${at})`)
    if (code === APP1) {
      const data = await reader.read(at + 4, length - 2)
      if (data.length >= 6 && data.toString('latin1', 0, 4) === 'Exif' && data[4] === 0) {
        const start = tiffStart(data)
        addTiff(found, await scanTiff(bufferAccess(data.subarray(start))), at + 4 + start)
      } else if (data.toString('latin1', 0, XMP_ID.length) === XMP_ID) {
        found.xmp.push(data.subarray(XMP_ID.length))
      } else if (data.toString('latin1', 0, EXTENDED_XMP_ID.length) === EXTENDED_XMP_ID) {
        // GUID (32), full length (4), offset (4), then this part of the packet.
        extended.push(data.subarray(EXTENDED_XMP_ID.length + 40))
      }
    }
    at += 2 + length
  }
  if (extended.length > 0) found.xmp.push(Buffer.concat(extended))
  return found
}
