import { UnreadableMetadataError, type ByteReader, type Patch } from './byte-reader.ts'
import { nothingFound, type Found } from './found.ts'
import { bufferAccess, scanTiff } from './tiff.ts'

// HEIC/HEIF and AVIF are ISO-BMFF files: the top-level `meta` box lists items (iinf), where their
// bytes are (iloc), and holds some of them (idat). EXIF is an item of type "Exif" (a 4-byte
// offset, then the TIFF structure), XMP an item of type "mime" with content type
// application/rdf+xml. Only `meta` and those items are read; the image data never is.

const MAX_META = 16 * 1024 * 1024
const MAX_ITEM = 16 * 1024 * 1024
const QUICKTIME_XYZ = Buffer.from([0xa9, 0x78, 0x79, 0x7a]) // ©xyz
const QUICKTIME_LOCATION_KEY = Buffer.from('com.apple.quicktime.location', 'latin1')

interface Box { type: string, start: number, headerSize: number, size: number }

function * boxes (data: Buffer, from: number, to: number): Generator<Box> {
  let at = from
  while (at + 8 <= to) {
    let size = data.readUInt32BE(at)
    const type = data.toString('latin1', at + 4, at + 8)
    let headerSize = 8
    if (size === 1) {
      if (at + 16 > to) throw new UnreadableMetadataError(`the HEIF box '${type}' is truncated`)
      size = Number(data.readBigUInt64BE(at + 8))
      headerSize = 16
    } else if (size === 0) {
      size = to - at
    }
    if (size < headerSize || at + size > to) throw new UnreadableMetadataError(`the HEIF box '${type}' runs past its parent`)
    yield { type, start: at, headerSize, size }
    at += size
  }
}

interface Extent { offset: number, length: number }
interface Item { type: string, contentType: string, method: number, extents: Extent[] }

/** Reads an unsigned integer of 0, 4 or 8 bytes. */
function uint (data: Buffer, at: number, bytes: number): number {
  if (bytes === 0) return 0
  if (bytes === 4) return data.readUInt32BE(at)
  if (bytes === 8) return Number(data.readBigUInt64BE(at))
  throw new UnreadableMetadataError('the HEIF item locations use an unknown field size')
}

function parseIinf (data: Buffer, box: Box, items: Map<number, Item>): void {
  const at = box.start + box.headerSize
  const version = data[at]!
  const first = at + 4 + (version === 0 ? 2 : 4)
  for (const infe of boxes(data, first, box.start + box.size)) {
    if (infe.type !== 'infe') continue
    const p = infe.start + infe.headerSize
    const infeVersion = data[p]!
    if (infeVersion < 2) continue // versions 0 and 1 have no item type: no Exif/XMP item
    const idBytes = infeVersion === 2 ? 2 : 4
    const id = idBytes === 2 ? data.readUInt16BE(p + 4) : data.readUInt32BE(p + 4)
    const typeAt = p + 4 + idBytes + 2
    const type = data.toString('latin1', typeAt, typeAt + 4)
    const end = infe.start + infe.size
    const nameEnd = data.indexOf(0, typeAt + 4)
    let contentType = ''
    if (type === 'mime' && nameEnd >= 0 && nameEnd < end) {
      const ctEnd = data.indexOf(0, nameEnd + 1)
      contentType = data.toString('latin1', nameEnd + 1, ctEnd < 0 || ctEnd > end ? end : ctEnd)
    }
    items.set(id, { type, contentType, method: 0, extents: [] })
  }
}

function parseIloc (data: Buffer, box: Box, items: Map<number, Item>): void {
  let p = box.start + box.headerSize
  const version = data[p]!
  p += 4
  const offsetSize = data[p]! >> 4
  const lengthSize = data[p]! & 15
  const baseOffsetSize = data[p + 1]! >> 4
  const indexSize = version === 1 || version === 2 ? data[p + 1]! & 15 : 0
  p += 2
  const count = version < 2 ? data.readUInt16BE(p) : data.readUInt32BE(p)
  p += version < 2 ? 2 : 4
  for (let i = 0; i < count; i++) {
    const id = version < 2 ? data.readUInt16BE(p) : data.readUInt32BE(p)
    p += version < 2 ? 2 : 4
    let method = 0
    if (version === 1 || version === 2) { method = data.readUInt16BE(p) & 15; p += 2 }
    p += 2 // data_reference_index
    const base = uint(data, p, baseOffsetSize)
    p += baseOffsetSize
    const extentCount = data.readUInt16BE(p)
    p += 2
    const extents: Extent[] = []
    for (let e = 0; e < extentCount; e++) {
      p += indexSize
      const offset = uint(data, p, offsetSize)
      p += offsetSize
      const length = uint(data, p, lengthSize)
      p += lengthSize
      extents.push({ offset: base + offset, length })
    }
    const item = items.get(id)
    if (item) { item.method = method; item.extents = extents }
  }
  if (p > box.start + box.size) throw new UnreadableMetadataError('the HEIF item locations run past their box')
}

/** The item's bytes and where each of them is in the file. */
async function itemBytes (reader: ByteReader, item: Item, idatAt: number | undefined): Promise<{ data: Buffer, extents: Extent[] }> {
  if (item.method !== 0 && item.method !== 1) throw new UnreadableMetadataError('a HEIF metadata item is built from other items')
  if (item.method === 1 && idatAt === undefined) throw new UnreadableMetadataError('a HEIF metadata item points into an idat box that is missing')
  const base = item.method === 1 ? idatAt! : 0
  const extents = item.extents.map(e => ({ offset: base + e.offset, length: e.length }))
  const total = extents.reduce((n, e) => n + e.length, 0)
  if (total > MAX_ITEM) throw new UnreadableMetadataError('a HEIF metadata item is too large to check')
  const parts: Buffer[] = []
  for (const e of extents) parts.push(await reader.read(e.offset, e.length))
  return { data: Buffer.concat(parts), extents }
}

/** Item-relative patches as file patches, split where the item's extents are. */
function toFile (patches: Patch[], base: number, extents: Extent[]): Patch[] {
  const out: Patch[] = []
  for (const patch of patches) {
    let from = base + patch.offset
    let rest = patch.bytes
    let itemAt = 0
    for (const e of extents) {
      if (rest.length === 0) break
      if (from < itemAt + e.length) {
        const take = Math.min(rest.length, itemAt + e.length - from)
        out.push({ offset: e.offset + (from - itemAt), bytes: rest.subarray(0, take) })
        rest = rest.subarray(take)
        from += take
      }
      itemAt += e.length
    }
  }
  return out
}

export async function scanHeif (reader: ByteReader): Promise<Found> {
  const found = nothingFound()
  let meta: { data: Buffer, at: number } | undefined
  let at = 0
  while (at + 8 <= reader.size) {
    const header = await reader.read(at, Math.min(16, reader.size - at))
    let size = header.readUInt32BE(0)
    const type = header.toString('latin1', 4, 8)
    if (size === 1) {
      if (header.length < 16) throw new UnreadableMetadataError(`the HEIF box '${type}' is truncated`)
      size = Number(header.readBigUInt64BE(8))
    } else if (size === 0) {
      size = reader.size - at
    }
    if (size < 8 || at + size > reader.size) throw new UnreadableMetadataError(`the HEIF box '${type}' runs past the end of the file`)
    if (type === 'moov') {
      // A sequence (HEIF/AVIF "movie"): QuickTime keeps a position in udta's ©xyz or in the
      // com.apple.quicktime.location.ISO6709 key. Not patched in place: ExifTool rewrites it.
      if (size > MAX_META) throw new UnreadableMetadataError('the HEIF moov box is too large to check')
      const moov = await reader.read(at, size)
      if (moov.includes(QUICKTIME_XYZ) || moov.includes(QUICKTIME_LOCATION_KEY)) found.rewrite.push('a QuickTime location in a HEIF/AVIF sequence')
    }
    if (type === 'meta') {
      if (meta) throw new UnreadableMetadataError('the HEIF file has two meta boxes')
      if (size > MAX_META) throw new UnreadableMetadataError('the HEIF meta box is too large to check')
      meta = { data: Buffer.from(await reader.read(at, size)), at }
    }
    at += size
  }
  if (!meta) return found

  const items = new Map<number, Item>()
  const { data } = meta
  const top = [...boxes(data, 0, data.length)][0]!
  let idatAt: number | undefined
  let iloc: Box | undefined
  try {
    // meta is a FullBox: 4 bytes of version and flags before its children.
    for (const box of boxes(data, top.headerSize + 4, top.size)) {
      if (box.type === 'iinf') parseIinf(data, box, items)
      else if (box.type === 'iloc') iloc = box
      else if (box.type === 'idat') idatAt = meta.at + box.start + box.headerSize
    }
    if (iloc) parseIloc(data, iloc, items)
  } catch (err) {
    if (err instanceof RangeError) throw new UnreadableMetadataError('the HEIF meta box is truncated')
    throw err
  }

  for (const item of items.values()) {
    const isXmp = item.type === 'mime' && item.contentType === 'application/rdf+xml'
    if (item.type !== 'Exif' && !isXmp) continue
    const { data: bytes, extents } = await itemBytes(reader, item, idatAt)
    if (isXmp) { found.xmp.push(bytes); continue }
    if (bytes.length < 4) throw new UnreadableMetadataError('the HEIF Exif item is truncated')
    const base = 4 + bytes.readUInt32BE(0)
    const scan = await scanTiff(bufferAccess(bytes.subarray(base)))
    found.xmp.push(...scan.xmp)
    found.patches.push(...toFile(scan.patches, base, extents))
  }
  return found
}
