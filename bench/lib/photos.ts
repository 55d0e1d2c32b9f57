// Benchmark images with and without a location: the same pixels and metadata, the GPS one with
// EXIF GPS added (what a phone writes when location is on). Made once per run with sharp and
// ExifTool, in a temporary directory.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ExifTool } from 'exiftool-vendored'
import sharp from 'sharp'
import { randomPng } from '../../test/helpers/images.ts'

export type BenchImageFormat = 'png' | 'jpeg'

const PHONE_TAGS = { 'Orientation#': 6, Make: 'Apple', Model: 'iPhone 15', DateTimeOriginal: '2026:11:25 10:00:00' }
const GPS_TAGS = { GPSLatitude: 48.8584, GPSLatitudeRef: 'N', GPSLongitude: 2.2945, GPSLongitudeRef: 'E', GPSAltitude: 35, GPSAltitudeRef: 0, GPSTimeStamp: '10:00:00', GPSDateStamp: '2026:11:25' }

/**
 * `plain`: PNG, randomPng(bytes) as the throughput benchmark always sent; JPEG, random pixels
 * (quality 90, about `bytes` long) with a phone's EXIF (Orientation, Make, Model, date).
 * `gps`: the same image with EXIF GPS as well (position, altitude, time).
 */
export async function benchImages (format: BenchImageFormat, bytes: number): Promise<{ plain: Buffer, gps: Buffer }> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-photos-'))
  const exiftool = new ExifTool({ maxProcs: 1, useMWG: false })
  try {
    let plain: Buffer
    if (format === 'png') {
      plain = randomPng(bytes)
    } else {
      // Random pixels at quality 90 take about 0.84 bytes each.
      const pixels = Math.round(bytes / 0.84)
      const width = Math.round(Math.sqrt(pixels * 4 / 3))
      const height = Math.round(pixels / width)
      const raw = Buffer.alloc(width * height * 3)
      for (let i = 0; i < raw.length; i++) raw[i] = (Math.random() * 256) | 0
      const path = join(dir, 'plain.jpg')
      await writeFile(path, await sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer())
      await exiftool.write(path, PHONE_TAGS, ['-overwrite_original'])
      plain = await readFile(path)
    }
    const gpsPath = join(dir, `gps.${format === 'png' ? 'png' : 'jpg'}`)
    await writeFile(gpsPath, plain)
    await exiftool.write(gpsPath, { ...format === 'png' ? PHONE_TAGS : {}, ...GPS_TAGS }, ['-overwrite_original'])
    return { plain, gps: await readFile(gpsPath) }
  } finally {
    await exiftool.end()
    await rm(dir, { recursive: true, force: true })
  }
}
