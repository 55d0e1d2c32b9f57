import { closeSync, openSync, writeSync } from 'node:fs'

// A baseline TIFF (uncompressed, 8-bit RGB or RGBA, in strips) of decoded pixels, with their ICC
// profile: how the HEIC decoder's bare samples reach sharp with their colours meaning what they
// did in the photo (sharp takes raw pixels without a profile only). Written as it goes, one strip
// at a time, so no second whole-image buffer is ever made; libvips then reads it a strip at a time.

const ROWS_PER_STRIP = 64
const Type = { SHORT: 3, LONG: 4, UNDEFINED: 7 } as const
type FieldType = typeof Type[keyof typeof Type]

interface Tag {
  id: number
  type: FieldType
  count: number
  /** The value itself (one SHORT or LONG), or where its values are (an offset). */
  value: number
}

/**
 * Writes `rgba` (width × height × 4 bytes, as the HEIC decoder gives them) to `path`. The alpha
 * channel is kept only when some pixel is not opaque.
 */
export function writeTiff (path: string, width: number, height: number, rgba: Uint8Array | Uint8ClampedArray, icc?: Buffer): { channels: 3 | 4 } {
  const channels = isOpaque(rgba) ? 3 : 4
  const strips = Math.ceil(height / ROWS_PER_STRIP)
  const stripBytes = ROWS_PER_STRIP * width * channels
  const tagCount = 11 + (channels === 4 ? 1 : 0) + (icc ? 1 : 0)

  // Layout: header, the directory, then the values too long for it, then the strips.
  const ifdAt = 8
  const bitsAt = ifdAt + 2 + tagCount * 12 + 4
  const offsetsAt = bitsAt + channels * 2
  const countsAt = offsetsAt + strips * 4
  const iccAt = countsAt + strips * 4
  const pixelsAt = iccAt + (icc ? icc.length + (icc.length % 2) : 0)

  const tags: Tag[] = [
    { id: 256, type: Type.LONG, count: 1, value: width },
    { id: 257, type: Type.LONG, count: 1, value: height },
    { id: 258, type: Type.SHORT, count: channels, value: bitsAt }, // BitsPerSample: 8 each
    { id: 259, type: Type.SHORT, count: 1, value: 1 }, // Compression: none
    { id: 262, type: Type.SHORT, count: 1, value: 2 }, // Photometric: RGB
    { id: 273, type: Type.LONG, count: strips, value: strips === 1 ? pixelsAt : offsetsAt },
    { id: 274, type: Type.SHORT, count: 1, value: 1 }, // Orientation: the decoder applied irot/imir
    { id: 277, type: Type.SHORT, count: 1, value: channels },
    { id: 278, type: Type.LONG, count: 1, value: ROWS_PER_STRIP },
    { id: 279, type: Type.LONG, count: strips, value: strips === 1 ? width * height * channels : countsAt },
    { id: 284, type: Type.SHORT, count: 1, value: 1 }, // PlanarConfiguration: interleaved
    ...(channels === 4 ? [{ id: 338, type: Type.SHORT, count: 1, value: 2 }] : []), // ExtraSamples: unassociated alpha
    ...(icc ? [{ id: 34675, type: Type.UNDEFINED, count: icc.length, value: iccAt }] : [])
  ]

  const head = Buffer.alloc(pixelsAt)
  head.write('II', 0, 'latin1')
  head.writeUInt16LE(42, 2)
  head.writeUInt32LE(ifdAt, 4)
  head.writeUInt16LE(tagCount, ifdAt)
  tags.forEach((tag, i) => {
    const at = ifdAt + 2 + i * 12
    head.writeUInt16LE(tag.id, at)
    head.writeUInt16LE(tag.type, at + 2)
    head.writeUInt32LE(tag.count, at + 4)
    if (tag.type === Type.SHORT && tag.count === 1) head.writeUInt16LE(tag.value, at + 8)
    else head.writeUInt32LE(tag.value, at + 8)
  })
  head.writeUInt32LE(0, ifdAt + 2 + tagCount * 12) // no next directory
  for (let c = 0; c < channels; c++) head.writeUInt16LE(8, bitsAt + c * 2)
  for (let s = 0; s < strips; s++) {
    const rows = Math.min(ROWS_PER_STRIP, height - s * ROWS_PER_STRIP)
    head.writeUInt32LE(pixelsAt + s * stripBytes, offsetsAt + s * 4)
    head.writeUInt32LE(rows * width * channels, countsAt + s * 4)
  }
  icc?.copy(head, iccAt)

  const fd = openSync(path, 'w')
  try {
    writeSync(fd, head)
    const strip = Buffer.allocUnsafe(stripBytes)
    for (let s = 0; s < strips; s++) {
      const from = s * ROWS_PER_STRIP * width * 4
      const to = Math.min(from + ROWS_PER_STRIP * width * 4, rgba.length)
      let out = 0
      if (channels === 4) {
        strip.set(rgba.subarray(from, to))
        out = to - from
      } else {
        for (let i = from; i < to; i += 4) {
          strip[out++] = rgba[i]!
          strip[out++] = rgba[i + 1]!
          strip[out++] = rgba[i + 2]!
        }
      }
      writeSync(fd, strip, 0, out)
    }
  } finally {
    closeSync(fd)
  }
  return { channels }
}

function isOpaque (rgba: Uint8Array | Uint8ClampedArray): boolean {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 255) return false
  return true
}
