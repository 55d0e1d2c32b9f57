import { UnreadableMetadataError } from './byte-reader.ts'
import { patched } from './found.ts'
import { scanJpeg } from './jpeg.ts'
import type { RandomAccess } from './tiff.ts'
import { xmpHasLocation } from './xmp.ts'

// Phones' photos are JPEGs with their EXIF (GPS included) in the first few KiB. Patched after
// staging, such a file must be read again and hashed again (Dropbox's content hash covers every
// byte after the patch): about 1.3 ms of CPU per MB. Patched while it streams in, it costs
// nothing more: the head is held back until its metadata has been read (up to the first scan, at
// most MAX_HOLD), EXIF GPS is taken out in memory, and the bytes go on to be hashed and written
// as they will be stored. Anything else passes untouched, and the step after staging
// (remove-location.ts) does what is left: other formats, XMP, a head too long to hold, metadata
// that cannot be read (which it refuses).

const MAX_HOLD = 128 * 1024
const JPEG_SOI = [0xff, 0xd8, 0xff]

class NeedMoreBytes extends Error {}

function headAccess (head: Buffer, final: boolean): RandomAccess {
  return {
    size: head.length,
    read: async (offset, length) => {
      if (offset + length <= head.length) return head.subarray(offset, offset + length)
      throw final ? new UnreadableMetadataError('the JPEG ends inside its metadata') : new NeedMoreBytes()
    }
  }
}

/** The head with EXIF GPS taken out, the head as it is, or undefined: more bytes are needed. */
async function editHead (head: Buffer, final: boolean): Promise<Buffer | undefined> {
  try {
    const found = await scanJpeg(headAccess(head, final))
    // XMP too: ExifTool's work, after staging, which then takes EXIF GPS out as well.
    if (found.patches.length === 0 || found.rewrite.length > 0 || found.xmp.some(xmpHasLocation)) return head
    return patched(head, found.patches)
  } catch (err) {
    if (err instanceof NeedMoreBytes) return undefined
    // Unreadable here is unreadable after staging too: the step there refuses the file.
    if (err instanceof UnreadableMetadataError || err instanceof RangeError) return head
    throw err
  }
}

/** The upload's bytes, a JPEG's EXIF GPS taken out of its head on the way. */
export async function * withoutHeadLocation (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let head: Buffer | undefined
  let decided = false
  for await (const chunk of source) {
    if (decided) {
      yield chunk
      continue
    }
    head = head ? Buffer.concat([head, chunk]) : chunk
    if (head.length < JPEG_SOI.length) continue
    let out: Buffer = head
    if (JPEG_SOI.every((b, i) => head![i] === b)) {
      const edited = await editHead(head, false)
      if (edited === undefined && head.length < MAX_HOLD) continue
      out = edited ?? head
    }
    decided = true
    // Let go of the head once it is passed on: held for the whole upload, it kept a chunk of
    // every upload in flight alive (12 MiB of the API with 200 at once, BENCHMARKS.md).
    head = undefined
    yield out
  }
  if (!decided && head) yield (await editHead(head, true)) ?? head
}
