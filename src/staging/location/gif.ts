import { createReadStream } from 'node:fs'
import type { ByteReader } from './byte-reader.ts'
import { nothingFound, type Found } from './found.ts'

// A GIF has no EXIF; its only metadata that can hold a location is XMP, in an application
// extension named "XMP DataXMP" (the packet's bytes follow the name, raw). GIF blocks are chains
// of 255-byte pieces, so rather than walk them the file is searched for that name, streamed;
// a match inside image data merely has its "packet" searched for GPS properties.
const MARKER = Buffer.from('XMP DataXMP', 'latin1')
const MAX_XMP = 1024 * 1024
const MAX_PACKETS = 16

export async function scanGif (path: string, reader: ByteReader): Promise<Found> {
  const found = nothingFound()
  const hits: number[] = []
  let carry = Buffer.alloc(0)
  let consumed = 0 // file offset of carry[0]
  for await (const piece of createReadStream(path, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
    const window = Buffer.concat([carry, piece])
    for (let hit = window.indexOf(MARKER); hit >= 0 && hits.length < MAX_PACKETS; hit = window.indexOf(MARKER, hit + 1)) {
      hits.push(consumed + hit)
    }
    const keep = Math.min(window.length, MARKER.length - 1)
    consumed += window.length - keep
    carry = Buffer.from(window.subarray(window.length - keep))
  }
  for (const hit of hits) {
    const start = hit + MARKER.length
    found.xmp.push(Buffer.from(await reader.read(start, Math.min(MAX_XMP, reader.size - start))))
  }
  return found
}
