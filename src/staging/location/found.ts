import type { Patch } from './byte-reader.ts'
import type { TiffScan } from './tiff.ts'

/** What a format's scan found where a location may be. */
export interface Found {
  /** Same-length patches (absolute file offsets) that take out every EXIF GPS IFD. */
  patches: Patch[]
  /** XMP packets, to search for location properties. */
  xmp: Buffer[]
  /** Location the in-place edit cannot take out (why, for the log): ExifTool rewrites the file. */
  rewrite: string[]
}

export const nothingFound = (): Found => ({ patches: [], xmp: [], rewrite: [] })

/** Adds a TIFF scan of a block that starts at `base` in the file. */
export function addTiff (found: Found, scan: TiffScan, base: number): void {
  for (const p of scan.patches) found.patches.push({ offset: base + p.offset, bytes: p.bytes })
  found.xmp.push(...scan.xmp)
}

/** `block` with `patches` (relative to it) applied, as a new buffer. */
export function patched (block: Buffer, patches: Patch[]): Buffer {
  const out = Buffer.from(block)
  for (const p of patches) p.bytes.copy(out, p.offset)
  return out
}

/** The TIFF structure inside an EXIF payload: some writers keep JPEG's "Exif\0\0" before it. */
export function tiffStart (payload: Buffer): number {
  return payload.length >= 6 && payload.toString('latin1', 0, 4) === 'Exif' && payload[4] === 0 ? 6 : 0
}
