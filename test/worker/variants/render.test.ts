// The renderer (src/worker/variants/render.ts) on images made here with sharp, and on the HEIC
// fixture: upright, sRGB, sized, the first frame, bombs and damaged files refused.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deflateSync } from 'node:zlib'
import sharp from 'sharp'
import t, { type Test } from 'tap'
import { HeicDecoder } from '../../../src/worker/variants/heic-decoder.ts'
import { displayP3Profile, renderVariants, type Rendering } from '../../../src/worker/variants/render.ts'
import { UnrenderableImageError } from '../../../src/worker/variants/unrenderable.ts'
import { FIXTURE, PATCHES, patchCentre, referencePng } from '../../fixtures/heic/patches.ts'
import { fakeJpeg, randomPng } from '../../helpers/images.ts'

const LIMITS = { maxInputPixels: 64_000_000, timeoutMs: 30_000 }
const heic = new HeicDecoder(1, displayP3Profile)

async function workDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'render-test-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function render (t: Test, bytes: Buffer, contentType: string) {
  const dir = await workDir(t)
  const source = join(dir, 'original')
  await writeFile(source, bytes)
  return renderVariants(source, contentType, dir, LIMITS, heic)
}

async function pixel (rendering: Rendering, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(rendering.bytes).raw().toBuffer({ resolveWithObject: true })
  const at = (y * info.width + x) * info.channels
  return [...data.subarray(at, at + 3)]
}

const near = (actual: number[], expected: number[], delta: number): boolean => actual.every((v, i) => Math.abs(v - expected[i]!) <= delta)

async function rejection (promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a rejection')
}

t.test('a JPEG with EXIF Orientation 6 is rendered upright, sized and stripped of metadata', async t => {
  // Stored landscape, 1200 × 800: left half red, right half blue. Orientation 6 says "rotate 90°
  // clockwise to show": upright it is portrait, red on top.
  const raw = Buffer.alloc(1200 * 800 * 3)
  for (let i = 0; i < 1200 * 800; i++) raw.set(i % 1200 < 600 ? [220, 20, 20] : [20, 20, 220], i * 3)
  const jpeg = await sharp(raw, { raw: { width: 1200, height: 800, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer()
  t.equal((await sharp(jpeg).metadata()).orientation, 6, 'the fixture carries Orientation 6')

  const { display, thumbnail } = await render(t, jpeg, 'image/jpeg')
  t.match(display, { contentType: 'image/jpeg', extension: '.jpg', width: 800, height: 1200 })
  t.match(thumbnail, { contentType: 'image/webp', extension: '.webp', width: 213, height: 320 })
  t.ok(near(await pixel(display, 400, 100), [220, 20, 20], 12), 'red on top')
  t.ok(near(await pixel(display, 400, 1100), [20, 20, 220], 12), 'blue below')
  t.ok(near(await pixel(thumbnail, 100, 20), [220, 20, 20], 16), 'the thumbnail too')
  const meta = await sharp(display.bytes).metadata()
  t.equal(meta.orientation, undefined, 'no Orientation left to apply twice')
  t.equal(meta.exif, undefined, 'no EXIF (no GPS) in what is served')
})

t.test('a large image fits 2048 px (display) and 320 px (thumbnail); a small one is not enlarged', async t => {
  const big = await sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#3a7' } }).png().toBuffer()
  const { display, thumbnail } = await render(t, big, 'image/png')
  t.match(display, { width: 2048, height: 1536, contentType: 'image/jpeg' })
  t.match(thumbnail, { width: 320, height: 240 })
  const small = await sharp({ create: { width: 100, height: 50, channels: 3, background: '#a37' } }).webp().toBuffer()
  const smaller = await render(t, small, 'image/webp')
  t.match(smaller.display, { width: 100, height: 50 })
  t.match(smaller.thumbnail, { width: 100, height: 50 })
})

t.test('a HEIC in Display P3 is decoded with its profile: display colours within a small delta of the reference', async t => {
  const heicBytes = await readFile(FIXTURE)
  const { display, thumbnail } = await render(t, heicBytes, 'image/heic')
  t.match(display, { width: 256, height: 128, contentType: 'image/jpeg' })
  t.match(thumbnail, { width: 256, height: 128, contentType: 'image/webp' })
  t.equal((await sharp(display.bytes).metadata()).hasProfile, false, 'sRGB, as served: no profile needed')

  // The colours the patches had before they became P3 numbers in the HEIC (lossy HEVC and JPEG
  // on flat patches: a few units off at most).
  const p3 = await sharp(await referencePng()).withIccProfile('p3').raw().toBuffer({ resolveWithObject: true })
  let largestShift = 0
  for (const [i, colour] of PATCHES.entries()) {
    const { x, y } = patchCentre(i)
    const got = await pixel(display, x, y)
    t.ok(near(got, colour, 8), `patch ${i}: ${got.join(',')} ≈ ${colour.join(',')}`)
    const at = (y * p3.info.width + x) * 3
    largestShift = Math.max(largestShift, ...colour.map((v, c) => Math.abs(v - p3.data[at + c]!)))
  }
  // Without the profile the P3 numbers would be shown as they are: this far off.
  t.ok(largestShift > 25, `the P3 numbers differ from the sRGB colours by up to ${largestShift}: dropping the profile would show`)
})

t.test('a 100-megapixel decompression bomb is refused at once, from its header', async t => {
  // A PNG claiming 10,000 × 10,000 pixels, with a few bytes of data.
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(10_000, 0)
  ihdr.writeUInt32BE(10_000, 4)
  ihdr.set([8, 2, 0, 0, 0], 8)
  const chunk = (type: string, data: Buffer): Buffer => {
    const length = Buffer.alloc(4)
    length.writeUInt32BE(data.length)
    return Buffer.concat([length, Buffer.from(type, 'latin1'), data, Buffer.alloc(4)])
  }
  const bomb = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(1000))), chunk('IEND', Buffer.alloc(0))])
  const started = performance.now()
  const err = await rejection(render(t, bomb, 'image/png'))
  const ms = performance.now() - started
  t.type(err, UnrenderableImageError)
  t.match(err.message, /10000×10000 \(100\.0 MP\), more than the 64\.0 MP/)
  t.ok(ms < 1000, `refused in ${ms.toFixed(0)} ms`)
})

t.test('damaged or truncated bytes, an SVG and a BMP are unrenderable, with the reason', async t => {
  const garbage = await rejection(render(t, fakeJpeg(4096), 'image/jpeg'))
  t.type(garbage, UnrenderableImageError)
  t.match(garbage.message, /^the file is not an image the renderer can read \(image\/jpeg: .+\)$/)

  const png = randomPng(30_000)
  png.fill(0x55, 200, 400)
  const damaged = await rejection(render(t, png, 'image/png'))
  t.type(damaged, UnrenderableImageError)
  t.match(damaged.message, /^the image data is damaged or unreadable \(.+\)$/)

  const jpeg = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#345' } }).jpeg().toBuffer()
  const truncated = await rejection(render(t, jpeg.subarray(0, jpeg.length - 200), 'image/jpeg'))
  t.match(truncated.message, /damaged or unreadable \(VipsJpeg: premature end/i, 'a truncated JPEG')

  const svg = await rejection(render(t, Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'), 'image/jpeg'))
  t.type(svg, UnrenderableImageError)
  t.match(svg.message, /SVG images are not rendered/)

  const bmp = Buffer.alloc(70)
  bmp.write('BM', 0, 'latin1')
  const notRead = await rejection(render(t, bmp, 'image/bmp'))
  t.type(notRead, UnrenderableImageError)
  t.match(notRead.message, /not an image the renderer can read \(image\/bmp: /)

  const truncatedHeic = (await readFile(FIXTURE)).subarray(0, 600)
  const heicErr = await rejection(render(t, truncatedHeic, 'image/heic'))
  t.type(heicErr, UnrenderableImageError, `a truncated HEIC: ${heicErr.message}`)
})

t.test('an animated GIF: the first frame', async t => {
  // Two 40 × 30 frames, red then blue, stacked as pages.
  const frame = (rgb: number[]) => Buffer.concat(Array.from({ length: 40 * 30 }, () => Buffer.from(rgb)))
  const gif = await sharp(Buffer.concat([frame([230, 20, 20]), frame([20, 20, 230])]), { raw: { width: 40, height: 60, channels: 3, pageHeight: 30 } })
    .gif({ delay: [100, 100] }).toBuffer()
  t.equal((await sharp(gif).metadata()).pages, 2, 'an animation of two frames')
  const { display, thumbnail } = await render(t, gif, 'image/gif')
  t.match(display, { width: 40, height: 30 })
  t.ok(near(await pixel(display, 20, 15), [230, 20, 20], 30), 'the first (red) frame')
  t.ok(near(await pixel(thumbnail, 20, 15), [230, 20, 20], 30))
})

t.test('transparency is kept: the display rendering is a WebP then', async t => {
  const png = await sharp({ create: { width: 60, height: 40, channels: 4, background: { r: 0, g: 120, b: 200, alpha: 0.5 } } }).png().toBuffer()
  const { display } = await render(t, png, 'image/png')
  t.match(display, { contentType: 'image/webp', extension: '.webp' })
  t.equal((await sharp(display.bytes).metadata()).hasAlpha, true)
  // An alpha channel that hides nothing is dropped: JPEG.
  const opaque = await sharp({ create: { width: 60, height: 40, channels: 4, background: { r: 0, g: 120, b: 200, alpha: 1 } } }).png().toBuffer()
  t.match((await render(t, opaque, 'image/png')).display, { contentType: 'image/jpeg' })
})
