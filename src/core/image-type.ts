// The bytes decide what an upload is, never its name or declared type. Signatures of the image
// formats phones produce; anything else is refused.
export interface ImageType {
  mime: string
  /** The extension a file of this type gets when its name has none of `exts`. */
  ext: string
  /** Extensions (lower case) that name this type honestly. */
  exts: string[]
}

export const SNIFF_BYTES = 16

// ISO-BMFF brands (bytes 8..12 after "ftyp") used by HEIC/HEIF and AVIF photos.
const HEIC: ImageType = { mime: 'image/heic', ext: '.heic', exts: ['.heic', '.heif'] }
const HEIF: ImageType = { mime: 'image/heif', ext: '.heif', exts: ['.heif', '.heic'] }
const AVIF: ImageType = { mime: 'image/avif', ext: '.avif', exts: ['.avif'] }
const FTYP_BRANDS: Record<string, ImageType> = {
  heic: HEIC,
  heix: HEIC,
  hevc: { ...HEIC, mime: 'image/heic-sequence' },
  heim: HEIC,
  heis: HEIC,
  mif1: HEIF,
  msf1: { ...HEIF, mime: 'image/heif-sequence' },
  avif: AVIF,
  avis: AVIF
}

const JPEG: ImageType = { mime: 'image/jpeg', ext: '.jpg', exts: ['.jpg', '.jpeg', '.jpe', '.jfif'] }
const PNG: ImageType = { mime: 'image/png', ext: '.png', exts: ['.png'] }
const GIF: ImageType = { mime: 'image/gif', ext: '.gif', exts: ['.gif'] }
const WEBP: ImageType = { mime: 'image/webp', ext: '.webp', exts: ['.webp'] }
const BMP: ImageType = { mime: 'image/bmp', ext: '.bmp', exts: ['.bmp', '.dib'] }
const TIFF: ImageType = { mime: 'image/tiff', ext: '.tiff', exts: ['.tiff', '.tif'] }

function startsWith (head: Buffer, bytes: number[], offset = 0): boolean {
  return bytes.every((b, i) => head[offset + i] === b)
}

const ascii = (s: string): number[] => [...s].map(c => c.charCodeAt(0))

export function sniffImageType (head: Buffer): ImageType | undefined {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return JPEG
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return PNG
  if (startsWith(head, ascii('GIF87a')) || startsWith(head, ascii('GIF89a'))) return GIF
  if (startsWith(head, ascii('RIFF')) && startsWith(head, ascii('WEBP'), 8)) return WEBP
  if (startsWith(head, ascii('BM')) && head.length >= 14) return BMP
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) return TIFF
  if (startsWith(head, ascii('ftyp'), 4)) return FTYP_BRANDS[head.subarray(8, 12).toString('latin1')]
  return undefined
}

// By extension, for files whose bytes we never read (found in Dropbox by the sync): each type's
// own extension first, so ".heif" is HEIF and ".heic" HEIC, then the other names it goes by.
const NAMED_TYPES = [JPEG, PNG, GIF, WEBP, BMP, TIFF, HEIC, HEIF, AVIF]
const BY_EXTENSION = new Map<string, ImageType>()
for (const type of NAMED_TYPES) BY_EXTENSION.set(type.ext, type)
for (const type of NAMED_TYPES) for (const ext of type.exts) if (!BY_EXTENSION.has(ext)) BY_EXTENSION.set(ext, type)

/** The image type a file name's extension names (case-insensitive), or undefined for any other name. */
export function imageTypeOfName (name: string): ImageType | undefined {
  const dot = name.lastIndexOf('.')
  return dot > 0 ? BY_EXTENSION.get(name.slice(dot).toLowerCase()) : undefined
}

export const SUPPORTED_IMAGE_TYPES = 'JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC/HEIF or AVIF'
