import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { DropboxContentHasher } from '../../src/core/content-hash.ts'
import { sniffImageType, type ImageType } from '../../src/core/image-type.ts'
import { findLocation, LocationNotRemovedError, removeLocation, UnreadableMetadataError, type MetadataWriter } from '../../src/staging/location/remove-location.ts'
import { withoutHeadLocation } from '../../src/staging/location/head-edit.ts'
import { xmpHasLocation } from '../../src/staging/location/xmp.ts'
import { fakeJpeg, randomPng } from '../helpers/images.ts'
import { EXTENSIONS, FORMATS, gpsTags, makePhoto, orientationAndMake, pixels, testExifTool } from '../helpers/photos.ts'

async function tempDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'location-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

const typeOf = async (path: string): Promise<ImageType> => sniffImageType(await readFile(path))!
/** A staged file as staging describes it. */
const staged = async (path: string): Promise<{ path: string, type: ImageType, size: number }> => {
  const bytes = await readFile(path)
  return { path, type: sniffImageType(bytes)!, size: bytes.length }
}
const hashOf = (bytes: Buffer): string => new DropboxContentHasher().update(bytes).digest()

t.test('every accepted format: GPS out, Orientation and Make kept, pixels untouched', async t => {
  const exiftool = testExifTool(t)
  const dir = await tempDir(t)
  for (const format of FORMATS) {
    // GIF has no EXIF: its position can only be in XMP.
    for (const xmpGps of format === 'gif' ? [true] : [false, true]) {
      const name = `${format}${xmpGps ? '-xmp' : ''}.${EXTENSIONS[format]}`
      const path = await makePhoto(exiftool, dir, name, format, { gps: format !== 'gif', xmpGps })
      const original = await pixels(path, format)
      t.not((await gpsTags(exiftool, path)).length, 0, `${name}: the fixture has GPS`)

      const removed = await removeLocation(await staged(path), exiftool)
      // EXIF GPS alone is patched in place; XMP needs ExifTool.
      t.equal(removed?.how, xmpGps ? 'exiftool' : 'in-place', `${name}: how`)
      t.same(await gpsTags(exiftool, path), [], `${name}: no GPS tag left`)
      t.same(await orientationAndMake(exiftool, path), { orientation: 6, make: 'Apple' }, `${name}: Orientation and Make kept`)
      t.ok((await pixels(path, format)).equals(original), `${name}: pixels identical`)
      const stored = await readFile(path)
      t.same({ size: removed?.size, contentHash: removed?.contentHash }, { size: stored.length, contentHash: hashOf(stored) }, `${name}: size and hash of the new bytes`)
      t.same(await findLocation(path, await typeOf(path)), { patches: [], rewrite: [] }, `${name}: nothing found after`)
    }
  }
})

t.test('a file without location is left byte for byte', async t => {
  const exiftool = testExifTool(t)
  const dir = await tempDir(t)
  for (const format of FORMATS) {
    const path = await makePhoto(exiftool, dir, `plain.${EXTENSIONS[format]}`, format, { gps: false })
    const before = await readFile(path)
    t.equal(await removeLocation(await staged(path), exiftool), undefined, `${format}: nothing to remove`)
    t.ok((await readFile(path)).equals(before), `${format}: bytes unchanged`)
  }
  for (const [name, bytes] of [['generated.png', randomPng(5000)], ['fake.jpg', fakeJpeg(5000)]] as const) {
    const path = join(dir, name)
    await writeFile(path, bytes)
    t.equal(await removeLocation(await staged(path), exiftool), undefined, name)
    t.ok((await readFile(path)).equals(bytes), `${name}: bytes unchanged`)
  }
})

/** A JPEG with one APP1 segment holding `exif` (after "Exif\0\0"). */
function jpegWithExif (exif: Buffer): Buffer {
  const app1 = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), exif])
  const header = Buffer.from([0xff, 0xe1, 0, 0])
  header.writeUInt16BE(app1.length + 2, 2)
  const jpeg = fakeJpeg(200)
  return Buffer.concat([jpeg.subarray(0, 2), header, app1, jpeg.subarray(2)])
}

/** A little-endian TIFF structure: IFD0 with one GPSInfo entry pointing at `gpsOffset`. */
function tiffWithGpsPointer (gpsOffset: number): Buffer {
  const tiff = Buffer.alloc(8 + 2 + 12 + 4)
  tiff.write('II', 0, 'latin1')
  tiff.writeUInt16LE(42, 2)
  tiff.writeUInt32LE(8, 4)
  tiff.writeUInt16LE(1, 8)
  tiff.writeUInt16LE(0x8825, 10)
  tiff.writeUInt16LE(4, 12)
  tiff.writeUInt32LE(1, 14)
  tiff.writeUInt32LE(gpsOffset, 18)
  return tiff
}

t.test('metadata that cannot be read is refused, not guessed', async t => {
  const exiftool = testExifTool(t)
  const dir = await tempDir(t)
  const gpsJpeg = await readFile(await makePhoto(exiftool, dir, 'gps.jpg', 'jpeg'))
  const png = randomPng(3000)
  const cases: Array<[string, Buffer]> = [
    ['EXIF that is not a TIFF structure', jpegWithExif(Buffer.from('XX*\0garbage-garbage', 'latin1'))],
    ['a GPS pointer past the EXIF block', jpegWithExif(tiffWithGpsPointer(0xfff0))],
    ['IFD0 past the EXIF block', jpegWithExif(Buffer.concat([Buffer.from('II*\0', 'latin1'), Buffer.from([0xff, 0xff, 0, 0])]))],
    ['a JPEG cut inside its metadata', gpsJpeg.subarray(0, 100)],
    ['a JPEG with no marker where one belongs', Buffer.concat([fakeJpeg(200).subarray(0, 20), Buffer.from([0x00, 0x01, 0x02])])],
    ['a PNG chunk running past the end', png.subarray(0, png.length - 20)]
  ]
  for (const [what, bytes] of cases) {
    const path = join(dir, 'broken')
    await writeFile(path, bytes)
    await t.rejects(removeLocation(await staged(path), exiftool), UnreadableMetadataError, what)
  }
})

t.test('ExifTool refusing a file is the file\'s problem; ExifTool broken is ours', async t => {
  const exiftool = testExifTool(t)
  const dir = await tempDir(t)
  const path = await makePhoto(exiftool, dir, 'xmp.jpg', 'jpeg', { xmpGps: true })
  const { type, size } = await staged(path)
  const refusing: MetadataWriter = { write: async () => { throw new Error('Error: Not a valid JPEG') }, version: async () => '13.59' }
  await t.rejects(removeLocation({ path, type, size }, refusing), LocationNotRemovedError)
  const broken: MetadataWriter = { write: async () => { throw new Error('spawn perl ENOENT') }, version: async () => { throw new Error('spawn perl ENOENT') } }
  await t.rejects(removeLocation({ path, type, size }, broken), { message: 'spawn perl ENOENT' })
  t.not(await findLocation(path, type), { patches: [], rewrite: [] }, 'nothing was written')
  // A writer that "succeeds" without removing anything: the scan after catches it.
  const idle: MetadataWriter = { write: async () => ({ created: 0, updated: 1, unchanged: 0 }), version: async () => '13.59' }
  await t.rejects(removeLocation({ path, type, size }, idle), LocationNotRemovedError)
})

t.test('XMP location properties, and what is not one', async t => {
  const has = (xml: string): boolean => xmpHasLocation(Buffer.from(xml))
  t.ok(has('<rdf:Description exif:GPSLatitude="48,51.5N"/>'), 'attribute')
  t.ok(has('<exif:GPSLongitude>2,17.6E</exif:GPSLongitude>'), 'element')
  t.ok(has('<rdf:li><exif:GPSAltitude>35/1</exif:GPSAltitude></rdf:li>'), 'inside an IPTC location structure')
  t.ok(has('<rdf:Description drone-dji:GpsLatitude="+48.85"'), 'another namespace')
  t.ok(xmpHasLocation(Buffer.from('<exif:GPSLatitude>1</exif:GPSLatitude>', 'utf16le')), 'UTF-16')
  t.notOk(has('<rdf:Description xmlns:gps="http://example.com/gps/"/>'), 'a namespace declaration')
  t.notOk(has('<photoshop:City>Paris</photoshop:City><dc:title>my GPS: off</dc:title>'), 'place names and text')
})

async function streamed (bytes: Buffer, pieceSize: number): Promise<Buffer> {
  async function * pieces (): AsyncGenerator<Buffer> {
    for (let at = 0; at < bytes.length; at += pieceSize) yield bytes.subarray(at, at + pieceSize)
  }
  const out: Buffer[] = []
  for await (const chunk of withoutHeadLocation(pieces())) out.push(chunk)
  return Buffer.concat(out)
}

t.test('while a JPEG streams in, its EXIF GPS is taken out of its head, as in place after', async t => {
  const exiftool = testExifTool(t)
  const dir = await tempDir(t)
  const path = await makePhoto(exiftool, dir, 'gps.jpg', 'jpeg')
  const sent = await readFile(path)
  await copyFile(path, join(dir, 'after.jpg'))
  await removeLocation(await staged(join(dir, 'after.jpg')), exiftool)
  const expected = await readFile(join(dir, 'after.jpg'))
  for (const pieceSize of [1, 7, 1000, 64 * 1024]) {
    const out = await streamed(sent, pieceSize)
    t.ok(out.equals(expected), `pieces of ${pieceSize} bytes: the bytes the in-place patch makes`)
  }
  await writeFile(join(dir, 'streamed.jpg'), await streamed(sent, 4096))
  t.same(await gpsTags(exiftool, join(dir, 'streamed.jpg')), [], 'no GPS')
  t.equal(await removeLocation(await staged(join(dir, 'streamed.jpg')), exiftool), undefined, 'nothing left for the step after staging')

  const untouched: Array<[string, Buffer]> = [
    ['a PNG (the step after staging does it)', await readFile(await makePhoto(exiftool, dir, 'gps.png', 'png'))],
    ['a JPEG with XMP GPS (ExifTool, after staging)', await readFile(await makePhoto(exiftool, dir, 'xmp.jpg', 'jpeg', { xmpGps: true }))],
    ['a JPEG without location', await readFile(await makePhoto(exiftool, dir, 'plain.jpg', 'jpeg', { gps: false }))],
    ['a JPEG whose metadata runs past the end', sent.subarray(0, 60)],
    ['a JPEG whose metadata is longer than what is held back', Buffer.concat([sent.subarray(0, 2), Buffer.from([0xff, 0xe2, 0xff, 0xff]), Buffer.alloc(0xfffd), Buffer.from([0xff, 0xe2, 0xff, 0xff]), Buffer.alloc(0xfffd), Buffer.from([0xff, 0xe2, 0xff, 0xff]), Buffer.alloc(0xfffd), sent.subarray(2)])]
  ]
  for (const [what, bytes] of untouched) t.ok((await streamed(bytes, 16 * 1024)).equals(bytes), `${what}: passes untouched`)
  // Held back no further than its limit: such a file is patched after staging instead.
  await writeFile(join(dir, 'long.jpg'), untouched.at(-1)![1])
  t.equal((await removeLocation(await staged(join(dir, 'long.jpg')), exiftool))?.how, 'in-place', 'a long head: patched after staging')
  t.same(await gpsTags(exiftool, join(dir, 'long.jpg')), [], 'a long head: no GPS')
})
