// The bytes decide what an upload is, never its name or declared type. Signatures of the image
// formats phones produce; anything else is refused.
export interface ImageType {
  mime: string
  ext: string
}

export const SNIFF_BYTES = 16

// ISO-BMFF brands (bytes 8..12 after "ftyp") used by HEIC/HEIF and AVIF photos.
const FTYP_BRANDS: Record<string, ImageType> = {
  heic: { mime: 'image/heic', ext: '.heic' },
  heix: { mime: 'image/heic', ext: '.heic' },
  hevc: { mime: 'image/heic-sequence', ext: '.heic' },
  heim: { mime: 'image/heic', ext: '.heic' },
  heis: { mime: 'image/heic', ext: '.heic' },
  mif1: { mime: 'image/heif', ext: '.heif' },
  msf1: { mime: 'image/heif-sequence', ext: '.heif' },
  avif: { mime: 'image/avif', ext: '.avif' },
  avis: { mime: 'image/avif', ext: '.avif' }
}

function startsWith (head: Buffer, bytes: number[], offset = 0): boolean {
  return bytes.every((b, i) => head[offset + i] === b)
}

const ascii = (s: string): number[] => [...s].map(c => c.charCodeAt(0))

export function sniffImageType (head: Buffer): ImageType | undefined {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return { mime: 'image/jpeg', ext: '.jpg' }
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { mime: 'image/png', ext: '.png' }
  if (startsWith(head, ascii('GIF87a')) || startsWith(head, ascii('GIF89a'))) return { mime: 'image/gif', ext: '.gif' }
  if (startsWith(head, ascii('RIFF')) && startsWith(head, ascii('WEBP'), 8)) return { mime: 'image/webp', ext: '.webp' }
  if (startsWith(head, ascii('BM')) && head.length >= 14) return { mime: 'image/bmp', ext: '.bmp' }
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) return { mime: 'image/tiff', ext: '.tiff' }
  if (startsWith(head, ascii('ftyp'), 4)) return FTYP_BRANDS[head.subarray(8, 12).toString('latin1')]
  return undefined
}

export const SUPPORTED_IMAGE_TYPES = 'JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC/HEIF or AVIF'
