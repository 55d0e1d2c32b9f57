import { copyFile, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ExifTool } from 'exiftool-vendored'
import decodeHeic from 'heic-decode'
import sharp from 'sharp'

// Real photos for the location tests, made in the test run: sharp encodes the pixels (HEIC comes
// from test/fixtures/location/plain.heic, as sharp cannot encode it), ExifTool writes the metadata
// a phone would: GPS, Orientation 6 (rotate 90° to display) and Make.

interface Teardown {
  teardown: (fn: () => unknown) => void
}

export const FORMATS = ['jpeg', 'png', 'webp', 'avif', 'tiff', 'heic', 'gif'] as const
export type Format = typeof FORMATS[number]

export const EXTENSIONS: Record<Format, string> = { jpeg: 'jpg', png: 'png', webp: 'webp', avif: 'avif', tiff: 'tiff', heic: 'heic', gif: 'gif' }

const HEIC_FIXTURE = join(import.meta.dirname, '../fixtures/location/plain.heic')
const WIDTH = 64
const HEIGHT = 48

/** An ExifTool of the test's own, ended at teardown. */
export function testExifTool (t: Teardown): ExifTool {
  const exiftool = new ExifTool({ maxProcs: 1, useMWG: false })
  t.teardown(() => exiftool.end())
  return exiftool
}

function gradient (): Buffer {
  const raw = Buffer.alloc(WIDTH * HEIGHT * 3)
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const i = (y * WIDTH + x) * 3
      raw[i] = x * 4
      raw[i + 1] = y * 5
      raw[i + 2] = (x * y) & 255
    }
  }
  return raw
}

export interface PhotoOptions {
  /** EXIF GPS (not in GIF, which has no EXIF: there the position goes to XMP). Default true. */
  gps?: boolean
  /** Also XMP exif:GPSLatitude/GPSLongitude. */
  xmpGps?: boolean
}

/** Writes a photo in `format` at `dir/name` and returns its path. */
export async function makePhoto (exiftool: ExifTool, dir: string, name: string, format: Format, options: PhotoOptions = {}): Promise<string> {
  const path = join(dir, name)
  if (format === 'heic') {
    await copyFile(HEIC_FIXTURE, path)
  } else {
    const image = sharp(gradient(), { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
    await writeFile(path, await image[format]().toBuffer())
  }
  const tags: Record<string, unknown> = { 'Orientation#': 6, Make: 'Apple', Model: 'iPhone 15' }
  if (options.gps ?? true) Object.assign(tags, { GPSLatitude: 48.8584, GPSLatitudeRef: 'N', GPSLongitude: 2.2945, GPSLongitudeRef: 'E', GPSAltitude: 35, GPSAltitudeRef: 0 })
  if (options.xmpGps) Object.assign(tags, { 'XMP-exif:GPSLatitude': 48.8584, 'XMP-exif:GPSLongitude': 2.2945 })
  await exiftool.write(path, tags, ['-overwrite_original'])
  return path
}

/** Every tag whose name holds "GPS", in any group (EXIF, XMP, composites), as ExifTool reads the file. */
export async function gpsTags (exiftool: ExifTool, path: string): Promise<string[]> {
  const tags = await exiftool.readRaw(path, ['-G1', '-a', '-n', '-all'])
  return Object.keys(tags).filter(k => /gps/i.test(k))
}

/** Orientation and Make as ExifTool reads them, whatever group holds them (GIF: XMP). */
export async function orientationAndMake (exiftool: ExifTool, path: string): Promise<{ orientation: unknown, make: unknown }> {
  const tags = await exiftool.readRaw(path, ['-n', '-Orientation', '-Make'])
  return { orientation: tags.Orientation, make: tags.Make }
}

/** The decoded pixels, as stored (no orientation applied): equal buffers mean untouched pixels. */
export async function pixels (path: string, format: Format): Promise<Buffer> {
  if (format === 'heic') {
    const { data } = await decodeHeic({ buffer: await readFile(path) })
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  }
  return sharp(path).raw().toBuffer()
}
