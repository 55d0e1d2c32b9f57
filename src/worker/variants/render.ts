import { join } from 'node:path'
import sharp, { type Sharp } from 'sharp'
import { VARIANT_MAX_SIDE, type VariantName } from '../../core/image-variants.ts'
import type { HeicDecoder } from './heic-decoder.ts'
import { tooLarge, UnrenderableImageError } from './unrenderable.ts'

// Every rendering decision in one place: what is read, how it is made upright and sRGB, sized,
// and encoded. sharp runs in libuv's threads, never on the event loop; HEIC goes through the
// decoder's own threads first (sharp's libheif has no HEVC decoder).

export interface RenderLimits {
  /** Images with more pixels (width × height, as their header says) are refused before decoding. */
  maxInputPixels: number
  /** The whole image's time, HEIC decoding included. */
  timeoutMs: number
}

export interface Rendering {
  bytes: Buffer
  contentType: string
  /** With its dot, for the stored file's name. */
  extension: string
  width: number
  height: number
}

export type Renderings = Record<VariantName, Rendering>

// What the renderer reads. Anything else sharp could open (SVG, libvips' own format) is refused:
// records made by the Dropbox sync are typed by their name, not their bytes.
const READABLE = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif'])
const HEIF_TYPES = new Set(['image/heic', 'image/heif', 'image/heic-sequence', 'image/heif-sequence'])

const DISPLAY_JPEG = { quality: 82 }
const DISPLAY_WEBP = { quality: 82, alphaQuality: 90 }
const THUMBNAIL_WEBP = { quality: 75 }

/**
 * The display rendering (at most 2048 px on its long side; JPEG, or WebP when the image has
 * transparency) and the thumbnail (at most 320 px, WebP) of the image in `source`: upright (EXIF
 * orientation applied), sRGB (an embedded colour profile converted), metadata stripped (no GPS
 * in what is served), the first frame of an animation. `workDir` takes intermediate files.
 * Throws UnrenderableImageError for what no retry can change.
 */
export async function renderVariants (source: string, contentType: string, workDir: string, limits: RenderLimits, heic: HeicDecoder): Promise<Renderings> {
  const deadline = Date.now() + limits.timeoutMs
  let input = source
  let unreadable = ''
  const header = await sharp(source).metadata().catch((err: Error) => { unreadable = err.message.split('\n')[0]!; return undefined })
  // sharp reads HEIF containers but not HEVC pictures; AVIF it decodes itself.
  if (HEIF_TYPES.has(contentType) && (header === undefined || (header.format === 'heif' && header.compression !== 'av1'))) {
    input = join(workDir, 'decoded.tif')
    await heic.toTiff(source, input, { maxPixels: limits.maxInputPixels, timeoutMs: remaining(deadline) })
  } else {
    if (!header) throw new UnrenderableImageError(`the file is not an image the renderer can read (${contentType}: ${unreadable})`)
    if (!READABLE.has(header.format)) throw new UnrenderableImageError(`${header.format.toUpperCase()} images are not rendered`)
    const { width = 0, height = 0 } = header
    if (width * height > limits.maxInputPixels) throw new UnrenderableImageError(tooLarge(width, height, limits.maxInputPixels))
  }

  try {
    return await render(input, limits, deadline)
  } catch (err) {
    if (err instanceof UnrenderableImageError) throw err
    throw new UnrenderableImageError(describeSharpError(err as Error, limits))
  }
}

async function render (input: string, limits: RenderLimits, deadline: number): Promise<Renderings> {
  const side = VARIANT_MAX_SIDE.display
  // One decode for both renderings: the display size, upright and sRGB, as raw pixels.
  const { data, info } = await timed(sharp(input, { limitInputPixels: limits.maxInputPixels, failOn: 'error', sequentialRead: true }), deadline)
    .autoOrient()
    .resize({ width: side, height: side, fit: 'inside', withoutEnlargement: true })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true })
  const raw = { raw: { width: info.width, height: info.height, channels: info.channels } }
  const alpha = info.channels === 4 && !(await sharp(data, raw).stats()).isOpaque
  const pixels = (): Sharp => {
    const image = timed(sharp(data, raw), deadline)
    return info.channels === 4 && !alpha ? image.removeAlpha() : image
  }

  const thumbSide = VARIANT_MAX_SIDE.thumbnail
  const [display, thumbnail] = await Promise.all([
    (alpha ? pixels().webp(DISPLAY_WEBP) : pixels().jpeg(DISPLAY_JPEG)).toBuffer({ resolveWithObject: true }),
    pixels().resize({ width: thumbSide, height: thumbSide, fit: 'inside', withoutEnlargement: true }).webp(THUMBNAIL_WEBP).toBuffer({ resolveWithObject: true })
  ])
  return {
    display: alpha
      ? { bytes: display.data, contentType: 'image/webp', extension: '.webp', width: display.info.width, height: display.info.height }
      : { bytes: display.data, contentType: 'image/jpeg', extension: '.jpg', width: display.info.width, height: display.info.height },
    thumbnail: { bytes: thumbnail.data, contentType: 'image/webp', extension: '.webp', width: thumbnail.info.width, height: thumbnail.info.height }
  }
}

/** sharp stops a pipeline running past its seconds (libvips' progress callback). */
function timed (image: Sharp, deadline: number): Sharp {
  return image.timeout({ seconds: Math.max(1, Math.ceil(remaining(deadline) / 1000)) })
}

function remaining (deadline: number): number {
  return Math.max(1000, deadline - Date.now())
}

function describeSharpError (err: Error, limits: RenderLimits): string {
  const message = err.message.split('\n')[0]!.trim()
  if (/timeout/i.test(message)) return `rendering took longer than ${limits.timeoutMs / 1000} s`
  if (/pixel limit/i.test(message)) return `the image has more than the ${(limits.maxInputPixels / 1e6).toFixed(1)} MP the renderer accepts (VARIANT_MAX_INPUT_PIXELS)`
  return `the image data is damaged or unreadable (${message})`
}

let displayP3: Promise<Buffer> | undefined

/** sharp's built-in Display P3 ICC profile, for HEIC files that name P3 by code points only. */
export function displayP3Profile (): Promise<Buffer> {
  displayP3 ??= sharp({ create: { width: 1, height: 1, channels: 3, background: '#ffffff' } })
    .withIccProfile('p3')
    .png()
    .toBuffer()
    .then(png => sharp(png).metadata())
    .then(({ icc }) => {
      if (!icc) throw new Error('sharp attached no Display P3 profile')
      return icc
    })
  return displayP3
}
