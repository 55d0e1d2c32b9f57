// The HEIC decoder's thread (see heic-decoder.ts): decodes one HEIC/HEIF file with heic-decode
// (libheif in WebAssembly, about a second and a few hundred MB for 12 MP) off the worker's event
// loop, then writes its pixels and colour profile as a TIFF file sharp can read. One file per
// thread: the thread's end returns the WebAssembly memory, which never shrinks while it lives.
import { readFileSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import decode from 'heic-decode'
import { heifColour } from '../../core/heif-colour.ts'
import { writeTiff } from './tiff.ts'
import { tooLarge } from './unrenderable.ts'

export interface HeicTask {
  input: string
  output: string
  maxPixels: number
  /** The ICC profile for nclx colour with Display P3 primaries (code point 12). */
  displayP3: Uint8Array
}

export type HeicOutcome =
  | { ok: true, width: number, height: number, profile: 'icc' | 'display-p3' | 'none' }
  | { ok: false, reason: string }

const DISPLAY_P3_PRIMARIES = 12

async function run ({ input, output, maxPixels, displayP3 }: HeicTask): Promise<HeicOutcome> {
  const file = readFileSync(input)
  const colour = heifColour(file)
  let images
  try {
    images = await decode.all({ buffer: file })
  } catch (err) {
    return { ok: false, reason: `the HEIC file cannot be read (${(err as Error).message})` }
  }
  try {
    const first = images[0]
    if (!first) return { ok: false, reason: 'the HEIC file holds no image' }
    const { width, height } = first
    if (width * height > maxPixels) return { ok: false, reason: tooLarge(width, height, maxPixels) }
    let pixels
    try {
      pixels = await first.decode()
    } catch (err) {
      return { ok: false, reason: `the HEIC image cannot be decoded (${(err as Error).message})` }
    }
    const icc = colour?.kind === 'icc'
      ? colour.profile
      : colour?.kind === 'nclx' && colour.primaries === DISPLAY_P3_PRIMARIES ? Buffer.from(displayP3) : undefined
    writeTiff(output, pixels.width, pixels.height, pixels.data, icc)
    return { ok: true, width: pixels.width, height: pixels.height, profile: colour?.kind === 'icc' ? 'icc' : icc ? 'display-p3' : 'none' }
  } finally {
    images.dispose()
  }
}

if (parentPort) {
  const port = parentPort
  // libheif-js prints its parse errors with console.log; the outcome carries them instead, and
  // the worker's output stays JSON lines.
  console.log = () => {}
  run(workerData as HeicTask).then(
    outcome => port.postMessage(outcome),
    (err: unknown) => port.postMessage({ ok: false, reason: `the HEIC decoder failed (${(err as Error).message})` } satisfies HeicOutcome)
  )
}
