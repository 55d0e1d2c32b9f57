// Benchmark (issue 12 §4): display renderings and thumbnails.
//   1. Render cost per core: 12 MP JPEG and 12 MP HEIC (and 50 MP JPEG) to the display rendering
//      (2048 px JPEG) and the thumbnail (320 px WebP), one image at a time with one libvips thread:
//      wall time, CPU time, and so images per CPU-second (= per core); the longest event-loop stall
//      meanwhile (the worker renews its job locks on that loop every WORKER_LOCK_MS / 2).
//   2. The variant worker's peak RSS (VmHWM) while rendering a 12 MP HEIC and a 50 MP JPEG at once
//      (VARIANT_CONCURRENCY=2), then eight more, with jemalloc (how scripts/run.sh starts it) and
//      with glibc's allocator.
//   3. Upload ingest with renderings off and on (upload-throughput.ts's local-novariants and
//      local-variants targets).
//   node bench/run.ts variants [--images 6] [--skip-memory] [--skip-ingest] [--seconds 15]
// The 12 MP HEIC is made with libheif's heif-enc (Debian: libheif-examples) and kept in
// .data/bench-fixtures/; without heif-enc the HEIC rows are skipped, saying so.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { createConnection, Types } from 'mongoose'
import sharp from 'sharp'
import { ROOT, variantWorkerEnv } from '../scripts/lib/spawn.ts'
import { DropboxContentHasher } from '../src/core/content-hash.ts'
import { enqueueVariants, VARIANT_QUEUE } from '../src/queue/variant-jobs.ts'
import { HeicDecoder } from '../src/worker/variants/heic-decoder.ts'
import { displayP3Profile, renderVariants } from '../src/worker/variants/render.ts'
import { describeMachine, machineInfo } from './lib/machine.ts'
import { readMemory } from './lib/memory.ts'
import { baseEnv, spawnNode, waitFor } from './lib/processes.ts'
import { heading, note, table, writeResult } from './lib/report.ts'
import { round } from './lib/stats.ts'
import { BENCH_DATA, LOG_DIR, startInfra } from './lib/stack.ts'
import { parseThroughputArgs, runThroughput } from './upload-throughput.ts'

const FIXTURES = join(ROOT, '.data/bench-fixtures')
const LIMITS = { maxInputPixels: 64_000_000, timeoutMs: 120_000 }

export interface VariantBenchOptions {
  images: number
  memory: boolean
  ingest: boolean
  seconds: number
}

export function parseVariantBenchArgs (args: string[]): VariantBenchOptions {
  const { values } = parseArgs({
    args,
    options: {
      images: { type: 'string', default: '6' },
      'skip-memory': { type: 'boolean', default: false },
      'skip-ingest': { type: 'boolean', default: false },
      seconds: { type: 'string', default: '15' }
    },
    strict: true
  })
  return { images: Number(values.images), memory: !values['skip-memory'], ingest: !values['skip-ingest'], seconds: Number(values.seconds) }
}

/** Photo-like pixels: smooth gradients with sensor-like noise (JPEG sizes near a phone's). */
function photoPixels (width: number, height: number): Buffer {
  const raw = Buffer.alloc(width * height * 3)
  let seed = 12345
  const noise = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return (seed >> 16) % 25 - 12 }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3
      const clamp = (v: number): number => v < 0 ? 0 : v > 255 ? 255 : v
      raw[i] = clamp(((x / width) * 200 + 30 * Math.sin(y / 90)) + noise())
      raw[i + 1] = clamp(((y / height) * 180 + 40 * Math.cos(x / 130)) + noise())
      raw[i + 2] = clamp(120 + 60 * Math.sin((x + y) / 200) + noise())
    }
  }
  return raw
}

interface Fixture { name: string, path: string, contentType: string, megapixels: number, bytes: number }

async function fixtures (): Promise<Fixture[]> {
  await mkdir(FIXTURES, { recursive: true })
  const made: Fixture[] = []
  const jpeg = async (name: string, width: number, height: number): Promise<void> => {
    const path = join(FIXTURES, `${name}.jpg`)
    if (!existsSync(path)) {
      note(`making ${name}.jpg (${width}×${height})`)
      await sharp(photoPixels(width, height), { raw: { width, height, channels: 3 } }).jpeg({ quality: 92 }).toFile(path)
    }
    made.push({ name: `${(width * height / 1e6).toFixed(0)} MP JPEG`, path, contentType: 'image/jpeg', megapixels: width * height / 1e6, bytes: (await readFile(path)).length })
  }
  await jpeg('photo-12mp', 4032, 3024)
  const heic = join(FIXTURES, 'photo-12mp-p3.heic')
  if (!existsSync(heic)) {
    try {
      execFileSync('heif-enc', ['--version'], { stdio: 'ignore' })
      note('making photo-12mp-p3.heic with heif-enc (about half a minute)')
      const png = join(FIXTURES, 'photo-12mp-p3.png')
      await sharp(photoPixels(4032, 3024), { raw: { width: 4032, height: 3024, channels: 3 } }).withIccProfile('p3').png({ compressionLevel: 1 }).toFile(png)
      execFileSync('heif-enc', ['-q', '60', png, '-o', heic], { stdio: 'ignore' })
      await rm(png)
    } catch {
      note('heif-enc is missing (apt-get install libheif-examples): no HEIC rows')
    }
  }
  if (existsSync(heic)) made.push({ name: '12 MP HEIC (Display P3)', path: heic, contentType: 'image/heic', megapixels: 12.2, bytes: (await readFile(heic)).length })
  await jpeg('photo-50mp', 8192, 6144)
  return made
}

interface RenderRow {
  image: string
  fileMB: number
  wallMs: number
  cpuMs: number
  perCoreImagesPerSecond: number
  maxEventLoopStallMs: number
  p99EventLoopStallMs: number
  displayKB: number
  thumbnailKB: number
}

/** One image at a time, one libvips thread: what one core renders. */
async function renderCost (list: Fixture[], images: number): Promise<RenderRow[]> {
  sharp.cache(false)
  const threads = sharp.concurrency()
  sharp.concurrency(1)
  const heic = new HeicDecoder(1, displayP3Profile)
  const rows: RenderRow[] = []
  try {
    for (const fixture of list) {
      const work = await mkdtemp(join(tmpdir(), 'bench-variants-'))
      try {
        // One warm-up (first decoder thread, libvips' first use), not counted.
        await renderVariants(fixture.path, fixture.contentType, work, LIMITS, heic)
        const loop = monitorEventLoopDelay({ resolution: 5 })
        loop.enable()
        const cpu = process.cpuUsage()
        const started = performance.now()
        let last
        for (let i = 0; i < images; i++) last = await renderVariants(fixture.path, fixture.contentType, work, LIMITS, heic)
        const wallMs = (performance.now() - started) / images
        const used = process.cpuUsage(cpu)
        loop.disable()
        const cpuMs = (used.user + used.system) / 1000 / images
        rows.push({
          image: fixture.name,
          fileMB: round(fixture.bytes / 1e6, 1),
          wallMs: round(wallMs, 0),
          cpuMs: round(cpuMs, 0),
          perCoreImagesPerSecond: round(1000 / cpuMs, 2),
          maxEventLoopStallMs: round(loop.max / 1e6, 0),
          p99EventLoopStallMs: round(loop.percentile(99) / 1e6, 0),
          displayKB: round(last!.display.bytes.length / 1024, 0),
          thumbnailKB: round(last!.thumbnail.bytes.length / 1024, 1)
        })
        note(`${fixture.name}: ${rows.at(-1)!.wallMs} ms wall, ${rows.at(-1)!.cpuMs} ms CPU per image`)
      } finally {
        await rm(work, { recursive: true, force: true })
      }
    }
  } finally {
    sharp.concurrency(threads)
  }
  return rows
}

/** What the event loop stalls with nothing to do: the scheduling noise of a busy machine. */
async function idleEventLoopStall (ms: number): Promise<{ max: number, p99: number }> {
  const loop = monitorEventLoopDelay({ resolution: 5 })
  loop.enable()
  await new Promise(resolve => setTimeout(resolve, ms))
  loop.disable()
  return { max: round(loop.max / 1e6, 0), p99: round(loop.percentile(99) / 1e6, 0) }
}

interface MemoryRow {
  allocator: string
  firstPairPeakMiB: number
  afterTenPeakMiB: number
  idleRssMiB: number
  seconds: number
}

/** The real variant worker, fed a 12 MP HEIC and a 50 MP JPEG at once, then eight more. */
async function workerMemory (list: Fixture[]): Promise<MemoryRow[]> {
  const heic = list.find(f => f.contentType === 'image/heic')
  const big = list.find(f => f.megapixels > 40)!
  const pair = [heic ?? list[0]!, big]
  const infra = await startInfra()
  const rows: MemoryRow[] = []
  try {
    for (const [allocator, allocatorEnv] of [['jemalloc (npm run variant-worker)', variantWorkerEnv()], ['glibc malloc', {}]] as const) {
      const name = `variants-memory-${rows.length}`
      const dataDir = join(BENCH_DATA, name, 'files')
      await mkdir(join(dataDir, '5550000'), { recursive: true })
      const env = {
        ...baseEnv(),
        ...allocatorEnv,
        MONGODB_URL: infra.mongoUrl(name.replace(/-/g, '_')),
        REDIS_URL: infra.redisUrl,
        QUEUE_PREFIX: `bench-${name}`,
        DATA_DIR: dataDir,
        STAGING_DIR: join(BENCH_DATA, name, 'staging'),
        LOG_LEVEL: 'warn',
        VARIANT_CONCURRENCY: '2'
      }
      const db = createConnection(env.MONGODB_URL)
      await db.asPromise()
      const redis = new Redis(infra.redisUrl, { maxRetriesPerRequest: null })
      const queue = new Queue(VARIANT_QUEUE, { connection: redis, prefix: env.QUEUE_PREFIX })
      const worker = spawnNode(`${name} worker`, 'workers/variant-worker.ts', { env, logFile: join(LOG_DIR, `${name}.log`) })
      try {
        await waitFor(`${name}: worker ready`, async () => await queue.getWorkersCount() >= 1, { children: [worker] })
        const record = async (fixture: Fixture, n: number): Promise<string> => {
          const file = `${n}-${fixture.path.split('/').at(-1)}`
          await copyFile(fixture.path, join(dataDir, '5550000', file))
          const bytes = await readFile(fixture.path)
          const _id = new Types.ObjectId()
          await db.collection('images').insertOne({
            _id,
            phone_number: '5550000',
            file_name: file,
            image_url: 'http://x',
            uploaded_at: new Date(),
            storage: 'local',
            storage_path: `/5550000/${file}`,
            size: bytes.length,
            content_type: fixture.contentType,
            content_hash: new DropboxContentHasher().update(bytes).digest()
          })
          return _id.toHexString()
        }
        const made = async (ids: string[]): Promise<void> => waitFor(`${name}: renderings`, async () =>
          await db.collection('images').countDocuments({ _id: { $in: ids.map(id => new Types.ObjectId(id)) }, variants: { $exists: true } }) === ids.length,
        { children: [worker], timeoutMs: 300_000, intervalMs: 100 })
        const started = Date.now()
        const first = await Promise.all(pair.map((f, i) => record(f, i)))
        await enqueueVariants(queue, first, 1)
        await made(first)
        const firstPair = await readMemory(worker.pid)
        const more = await Promise.all(Array.from({ length: 8 }, (_, i) => record(pair[i % 2]!, i + 2)))
        await enqueueVariants(queue, more, 1)
        await made(more)
        const seconds = (Date.now() - started) / 1000
        const failed = await db.collection('images').countDocuments({ 'variants.status': 'failed' })
        if (failed > 0) throw new Error(`${failed} renderings failed; see ${worker.logFile}`)
        const after = await readMemory(worker.pid)
        rows.push({ allocator, firstPairPeakMiB: round(firstPair.vmHwmKiB / 1024, 0), afterTenPeakMiB: round(after.vmHwmKiB / 1024, 0), idleRssMiB: round(after.vmRssKiB / 1024, 0), seconds: round(seconds, 1) })
        note(`${allocator}: peak ${rows.at(-1)!.afterTenPeakMiB} MiB`)
      } finally {
        await worker.stop()
        await queue.close()
        redis.disconnect()
        await db.close()
      }
    }
  } finally {
    await infra.stop()
  }
  return rows
}

export async function runVariantBench (options: VariantBenchOptions): Promise<void> {
  const machine = machineInfo()
  heading('Variants: display rendering (2048 px JPEG) and thumbnail (320 px WebP)')
  console.log(describeMachine(machine))
  const list = await fixtures()

  const render = await renderCost(list, options.images)
  const idleStall = await idleEventLoopStall(3000)
  heading('Render cost, one image at a time on one core (display + thumbnail)')
  console.log(table(
    ['image', 'file MB', 'wall ms', 'CPU ms', 'images/s per core', 'loop stall max/p99 ms', 'display KB', 'thumb KB'],
    render.map(r => [r.image, r.fileMB, r.wallMs, r.cpuMs, r.perCoreImagesPerSecond, `${r.maxEventLoopStallMs}/${r.p99EventLoopStallMs}`, r.displayKB, r.thumbnailKB])
  ))
  console.log(`event-loop stall of this process idle for 3 s, for comparison (the machine's own noise): max ${idleStall.max} ms, p99 ${idleStall.p99} ms`)
  console.log('sharp\'s published figure (sharp.pixelplumbing.com/performance, v0.34.0, c7a.xlarge = 4 vCPU AMD EPYC 9R14): 2725×2225 (6 MP) JPEG -> 720×588 JPEG q80, 62.37 ops/s on 4 cores: 15.6 a core, 64 ms each.')

  const memory = options.memory ? await workerMemory(list) : []
  if (memory.length > 0) {
    heading('Variant worker memory: 12 MP HEIC + 50 MP JPEG at once, then 8 more (VARIANT_CONCURRENCY=2)')
    console.log(table(['allocator', 'peak after the pair MiB', 'peak after 10 MiB', 'RSS after MiB', 'seconds'], memory.map(r => [r.allocator, r.firstPairPeakMiB, r.afterTenPeakMiB, r.idleRssMiB, r.seconds])))
  }

  let ingest
  if (options.ingest) {
    ingest = await runThroughput(parseThroughputArgs(['--targets', 'local-novariants,local-variants', '--image', 'jpeg', '--seconds', String(options.seconds), '--warmup', '3', '--log-level', 'warn']))
  }
  const file = await writeResult('variants', { machine, render, idleStall, memory, ingest: ingest?.results })
  console.log(`\nresult: ${file}`)
}

// Also when run alone: node bench/variants.ts [flags]
if (import.meta.main) {
  await runVariantBench(parseVariantBenchArgs(process.argv.slice(2)))
}
