// The colour profile of a HEIC/HEIF file, read from its `colr` property box (ISO/IEC 23008-12,
// ISO/IEC 14496-12). The HEIC decoder hands back bare RGB samples and drops the profile; an
// iPhone's Display P3 photo read as sRGB loses saturation, so the renderer puts the profile back.

export type HeifColour =
  | { kind: 'icc', profile: Buffer }
  /** Colour given by code points (ITU-T H.273): 1 = BT.709/sRGB primaries, 12 = Display P3. */
  | { kind: 'nclx', primaries: number, transfer: number, matrix: number, fullRange: boolean }

interface Box {
  type: string
  /** Where the box's content starts (after its header) and where the box ends. */
  start: number
  end: number
}

/** The boxes between start and end; stops at the first malformed one. */
function boxesIn (file: Buffer, start: number, end: number): Box[] {
  const out: Box[] = []
  let at = start
  while (at + 8 <= end) {
    let size = file.readUInt32BE(at)
    const type = file.toString('latin1', at + 4, at + 8)
    let header = 8
    if (size === 1) {
      if (at + 16 > end) break
      size = Number(file.readBigUInt64BE(at + 8))
      header = 16
    } else if (size === 0) {
      size = end - at
    }
    if (size < header || at + size > end) break
    out.push({ type, start: at + header, end: at + size })
    at += size
  }
  return out
}

const child = (file: Buffer, parent: Box, type: string, skip = 0): Box | undefined =>
  boxesIn(file, parent.start + skip, parent.end).find(b => b.type === type)

/** item id -> the 1-based indexes of its properties in ipco. */
function associations (file: Buffer, ipma: Box): Map<number, number[]> {
  const map = new Map<number, number[]>()
  const version = file[ipma.start]!
  const wideIndexes = (file.readUIntBE(ipma.start + 1, 3) & 1) === 1
  let at = ipma.start + 4
  const need = (n: number): boolean => at + n <= ipma.end
  if (!need(4)) return map
  const count = file.readUInt32BE(at)
  at += 4
  for (let i = 0; i < count; i++) {
    if (!need(version < 1 ? 3 : 5)) break
    const item = version < 1 ? file.readUInt16BE(at) : file.readUInt32BE(at)
    at += version < 1 ? 2 : 4
    const n = file[at++]!
    const indexes: number[] = []
    for (let j = 0; j < n; j++) {
      if (!need(wideIndexes ? 2 : 1)) return map
      indexes.push(wideIndexes ? file.readUInt16BE(at) & 0x7fff : file[at]! & 0x7f)
      at += wideIndexes ? 2 : 1
    }
    map.set(item, indexes)
  }
  return map
}

function colourOf (file: Buffer, colr: Box): HeifColour | undefined {
  if (colr.end - colr.start < 4) return undefined
  const type = file.toString('latin1', colr.start, colr.start + 4)
  if (type === 'prof' || type === 'rICC') {
    const profile = file.subarray(colr.start + 4, colr.end)
    return profile.length >= 132 ? { kind: 'icc', profile: Buffer.from(profile) } : undefined
  }
  if (type === 'nclx' && colr.end - colr.start >= 11) {
    return {
      kind: 'nclx',
      primaries: file.readUInt16BE(colr.start + 4),
      transfer: file.readUInt16BE(colr.start + 6),
      matrix: file.readUInt16BE(colr.start + 8),
      fullRange: (file[colr.start + 10]! & 0x80) !== 0
    }
  }
  return undefined
}

/**
 * The primary image's colour: an ICC profile when the file has one, else nclx code points;
 * undefined when the file says nothing (sRGB is then meant) or is not a HEIF file. A grid image
 * (an iPhone's) may carry its colour on the tiles only: then the file's first `colr` counts.
 */
export function heifColour (file: Buffer): HeifColour | undefined {
  const all = { type: '', start: 0, end: file.length }
  const meta = child(file, all, 'meta')
  if (!meta) return undefined
  // meta is a FullBox: version and flags come before its children.
  const iprp = child(file, meta, 'iprp', 4)
  const ipco = iprp && child(file, iprp, 'ipco')
  if (!iprp || !ipco) return undefined
  const properties = boxesIn(file, ipco.start, ipco.end)
  const colours = properties.map((box, i) => ({ index: i + 1, box })).filter(p => p.box.type === 'colr')
  if (colours.length === 0) return undefined

  const pitm = child(file, meta, 'pitm', 4)
  const ipma = child(file, iprp, 'ipma')
  let candidates = colours
  if (pitm && ipma && pitm.end - pitm.start >= 6) {
    const version = file[pitm.start]!
    const primary = version === 0 ? file.readUInt16BE(pitm.start + 4) : pitm.end - pitm.start >= 8 ? file.readUInt32BE(pitm.start + 4) : -1
    const own = new Set(associations(file, ipma).get(primary) ?? [])
    const primaryColours = colours.filter(c => own.has(c.index))
    if (primaryColours.length > 0) candidates = primaryColours
  }
  const parsed = candidates.map(c => colourOf(file, c.box)).filter(c => c !== undefined)
  return parsed.find(c => c.kind === 'icc') ?? parsed[0]
}
