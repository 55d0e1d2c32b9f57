// Issue 12 §1: what location removal costs per image, on the API's side of an upload.
//   node bench/run.ts location [--images 300] [--kb 100]
// For a ~100 KB JPEG photo with a phone's EXIF, each case runs removeLocation (the step
// acceptUpload takes) on a fresh staged copy, one at a time:
//   no location     the scan alone (a few positioned reads of the metadata blocks)
//   EXIF GPS, in the stream   a multipart JPEG: its head held back and patched as it streams in
//                   (64 KiB pieces from memory); after staging, the scan finds nothing (row 1)
//   EXIF GPS        scan, same-length patch in place, scan again, re-hash (any other way in)
//   EXIF + XMP GPS  scan, ExifTool rewrite (-gps:all= -xmp:*gps*=), scan again, re-hash
//   exiftool only   ExifTool's -gps:all= alone on the EXIF GPS photo: what writing every GPS photo through ExifTool would cost
// Wall ms per image, and CPU ms per image of this process (node) and of the ExifTool processes (perl).
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { ExifTool } from 'exiftool-vendored'
import { sniffImageType } from '../src/core/image-type.ts'
import { withoutHeadLocation } from '../src/staging/location/head-edit.ts'
import { removeLocation } from '../src/staging/location/remove-location.ts'
import { describeMachine, machineInfo } from './lib/machine.ts'
import { benchImages } from './lib/photos.ts'
import { heading, table, writeResult } from './lib/report.ts'
import { round } from './lib/stats.ts'

const TICK_MS = 10 // USER_HZ = 100 on Linux

async function childCpuMs (pids: number[]): Promise<number> {
  let ticks = 0
  for (const pid of pids) {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')).split(') ')[1]?.split(' ') ?? []
    ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0)
  }
  return ticks * TICK_MS
}

export async function runLocationCost (args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { images: { type: 'string', default: '300' }, kb: { type: 'string', default: '100' } }, strict: true })
  const count = Number(values.images)
  const machine = machineInfo()
  heading(`Location removal per image: ${values.kb} KB JPEG photo, ${count} images per case`)
  console.log(describeMachine(machine))
  const dir = await mkdtemp(join(tmpdir(), 'bench-location-'))
  // One process for the whole run, so its CPU time can be read from /proc.
  const exiftool = new ExifTool({ maxProcs: 1, useMWG: false, maxTasksPerProcess: 1_000_000 })
  try {
    const { plain, gps } = await benchImages('jpeg', Number(values.kb) * 1024)
    const xmpPath = join(dir, 'xmp.jpg')
    await copyFile(await writeTo(dir, 'gps.jpg', gps), xmpPath)
    await exiftool.write(xmpPath, {}, ['-overwrite_original', '-XMP-exif:GPSLatitude=48.8584', '-XMP-exif:GPSLongitude=2.2945'])
    const xmp = await readFile(xmpPath)
    const type = sniffImageType(plain)!
    // Staging knows each file's size: no stat here either.
    const remove = (size: number) => async (path: string): Promise<unknown> => removeLocation({ path, type, size }, exiftool)
    const cases: Array<[string, Buffer, (path: string) => Promise<unknown>]> = [
      ['no location', plain, remove(plain.length)],
      ['EXIF GPS, in the stream (multipart JPEG)', gps, async () => { for await (const chunk of withoutHeadLocation(pieces(gps))) void chunk }],
      ['EXIF GPS, in place after staging', gps, remove(gps.length)],
      ['EXIF + XMP GPS (ExifTool)', xmp, remove(xmp.length)],
      ['exiftool -gps:all= alone', gps, path => exiftool.write(path, {}, ['-overwrite_original', '-gps:all='])]
    ]
    await exiftool.version() // the pool's first process starts outside the measurements
    const rows = []
    for (const [name, bytes, run] of cases) {
      const paths = await Promise.all(Array.from({ length: count }, (_, i) => writeTo(dir, `${name.replace(/\W+/g, '-')}-${i}`, bytes)))
      for (const path of paths.slice(0, 10)) await run(path) // warm-up (JIT, ExifTool's modules)
      const perlBefore = await childCpuMs(exiftool.pids)
      const cpuBefore = process.cpuUsage()
      const started = performance.now()
      for (const path of paths.slice(10)) await run(path)
      const wall = performance.now() - started
      const cpu = process.cpuUsage(cpuBefore)
      const perl = await childCpuMs(exiftool.pids) - perlBefore
      const n = count - 10
      rows.push({ name, wallMs: round(wall / n, 3), nodeCpuMs: round((cpu.user + cpu.system) / 1000 / n, 3), perlCpuMs: round(perl / n, 2) })
    }
    console.log(table(['case', 'wall ms / image', 'node CPU ms / image', 'ExifTool CPU ms / image'], rows.map(r => [r.name, r.wallMs, r.nodeCpuMs, r.perlCpuMs])))
    console.log('\nresult file:', await writeResult('location-cost', { machine, count, kb: values.kb, rows }))
  } finally {
    await exiftool.end()
    await rm(dir, { recursive: true, force: true })
  }
}

async function * pieces (bytes: Buffer): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += 64 * 1024) yield bytes.subarray(at, at + 64 * 1024)
}

async function writeTo (dir: string, name: string, bytes: Buffer): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, bytes)
  return path
}
