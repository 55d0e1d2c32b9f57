import { UnreadableMetadataError, type Patch } from './byte-reader.ts'

// EXIF is a TIFF structure (in a JPEG's APP1, a PNG's eXIf, a WebP's EXIF chunk, a HEIF's Exif
// item, or a TIFF file itself). Its location lives in one place: the GPS IFD, which IFD0's
// GPSInfo tag (0x8825) points at. Taking it out without moving a byte: IFD0 is rewritten in place
// without that entry (the entries after it move up 12 bytes; every value keeps its offset), and
// the GPS IFD and the values it points at are zeroed. Nothing else in the file changes.

export interface RandomAccess {
  readonly size: number
  read: (offset: number, length: number) => Promise<Buffer>
}

export function bufferAccess (buffer: Buffer): RandomAccess {
  return {
    size: buffer.length,
    read: async (offset, length) => {
      if (offset < 0 || length < 0 || offset + length > buffer.length) {
        throw new UnreadableMetadataError(`an EXIF offset points outside its block (${offset}+${length} > ${buffer.length})`)
      }
      return buffer.subarray(offset, offset + length)
    }
  }
}

export interface TiffScan {
  /** Same-length patches, relative to the TIFF header, that remove every GPS IFD; none: no GPS. */
  patches: Patch[]
  /** XMP packets held in an IFD (tag 700, as TIFF files carry it). */
  xmp: Buffer[]
}

const GPS_INFO = 0x8825
const XML_PACKET = 700
const MAX_IFDS = 256
const MAX_XMP_BYTES = 16 * 1024 * 1024
const TYPE_SIZES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4 }

interface Order {
  u16: (b: Buffer, at: number) => number
  u32: (b: Buffer, at: number) => number
  writeU16: (b: Buffer, value: number, at: number) => void
}
const LITTLE: Order = { u16: (b, at) => b.readUInt16LE(at), u32: (b, at) => b.readUInt32LE(at), writeU16: (b, v, at) => { b.writeUInt16LE(v, at) } }
const BIG: Order = { u16: (b, at) => b.readUInt16BE(at), u32: (b, at) => b.readUInt32BE(at), writeU16: (b, v, at) => { b.writeUInt16BE(v, at) } }

interface Entry { tag: number, type: number, count: number, valueField: Buffer }

async function readIfd (src: RandomAccess, order: Order, offset: number): Promise<{ entries: Entry[], raw: Buffer, next: number }> {
  const count = order.u16(await src.read(offset, 2), 0)
  const raw = Buffer.from(await src.read(offset, 2 + count * 12 + 4))
  const entries: Entry[] = []
  for (let i = 0; i < count; i++) {
    const at = 2 + i * 12
    entries.push({ tag: order.u16(raw, at), type: order.u16(raw, at + 2), count: order.u32(raw, at + 4), valueField: raw.subarray(at + 8, at + 12) })
  }
  return { entries, raw, next: order.u32(raw, 2 + count * 12) }
}

/** Bytes of an entry's value; undefined when it sits inline in the entry. */
function outOfLine (order: Order, entry: Entry): { offset: number, length: number } | undefined {
  const size = (TYPE_SIZES[entry.type] ?? 0) * entry.count
  return size > 4 ? { offset: order.u32(entry.valueField, 0), length: size } : undefined
}

/** The patches that zero a GPS IFD and every value it points at. */
async function zeroGpsIfd (src: RandomAccess, order: Order, offset: number): Promise<Patch[]> {
  const ifd = await readIfd(src, order, offset)
  const patches: Patch[] = [{ offset, bytes: Buffer.alloc(ifd.raw.length) }]
  for (const entry of ifd.entries) {
    const value = outOfLine(order, entry)
    if (!value) continue
    if (value.offset + value.length > src.size) throw new UnreadableMetadataError('a GPS value points outside its block')
    patches.push({ offset: value.offset, bytes: Buffer.alloc(value.length) })
  }
  return patches
}

/** IFD `raw` without the entry at `index`, the same length: the next-IFD offset moves up, 12 zero bytes follow. */
function withoutEntry (order: Order, raw: Buffer, count: number, index: number): Buffer {
  const out = Buffer.alloc(raw.length)
  order.writeU16(out, count - 1, 0)
  raw.copy(out, 2, 2, 2 + index * 12)
  raw.copy(out, 2 + index * 12, 2 + (index + 1) * 12, 2 + count * 12 + 4)
  return out
}

/**
 * Walks the IFD chain of a TIFF structure. IFD0 and the GPS IFDs must be whole (that is where a
 * location lives: a broken one cannot be shown to hold none); a later IFD that cannot be read ends
 * the walk, as readers do (a broken thumbnail IFD is common and holds no location).
 */
export async function scanTiff (src: RandomAccess): Promise<TiffScan> {
  const head = await src.read(0, 8)
  const mark = head.toString('latin1', 0, 2)
  const order = mark === 'II' ? LITTLE : mark === 'MM' ? BIG : undefined
  if (!order || order.u16(head, 2) !== 42) throw new UnreadableMetadataError('the EXIF block is not a TIFF structure')
  const patches: Patch[] = []
  const xmp: Buffer[] = []
  const seen = new Set<number>()
  let offset = order.u32(head, 4)
  for (let index = 0; offset !== 0 && index < MAX_IFDS; index++) {
    if (seen.has(offset)) {
      if (index === 0) throw new UnreadableMetadataError('the EXIF IFDs form a loop')
      break
    }
    seen.add(offset)
    let ifd
    try {
      ifd = await readIfd(src, order, offset)
    } catch (err) {
      if (index > 0 && err instanceof UnreadableMetadataError) break
      throw err
    }
    const gpsIndex = ifd.entries.findIndex(e => e.tag === GPS_INFO)
    if (gpsIndex >= 0) {
      patches.push(...await zeroGpsIfd(src, order, order.u32(ifd.entries[gpsIndex]!.valueField, 0)))
      // Last, so it wins should a crafted GPS IFD overlap its parent.
      patches.push({ offset, bytes: withoutEntry(order, ifd.raw, ifd.entries.length, gpsIndex) })
    }
    for (const entry of ifd.entries) {
      if (entry.tag !== XML_PACKET) continue
      const value = outOfLine(order, entry)
      if (!value) continue
      if (value.length > MAX_XMP_BYTES) throw new UnreadableMetadataError('the XMP packet is too large to check')
      xmp.push(await src.read(value.offset, value.length))
    }
    offset = ifd.next
  }
  return { patches, xmp }
}
