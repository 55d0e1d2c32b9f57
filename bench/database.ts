// The embedded database (issue 13 §4): what the service's own queries cost on FerretDB 1.24 on
// PostgreSQL (the default of `npm run dev` and `npm test`) and on SQLite (EMBEDDED_DB=sqlite) as
// the images collection grows, and what starting each costs. Builds on ferretdb-scaling.ts (the
// worker's writes); this one times the reads:
//   - get-phone: the records of one phone number (20 each), newest first, as the route asks
//   - by _id: one record, as the upload status and the stable image URLs ask
//   - the admin list's first page: sorted by uploaded_at desc (then _id), 25 rows (+1 to learn
//     whether a next page exists), as listPage asks; and its count, capped at 10,001
//   - the same first page restricted to the last day (a range filter): does a window help?
// Each query runs once untimed, then timed runs (at least 3, at most --runs, fewer once 15 s have
// gone). Wall time is the client's; server CPU is FerretDB's plus PostgreSQL's (all its processes).
//   npm run bench -- database [--sizes 1000,10000,100000] [--backends postgresql,sqlite] [--runs 9]
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createConnection, Types } from 'mongoose'
import { timeInitdb } from '../scripts/lib/postgres.ts'
import { startFerretDB, type EmbeddedDb, type Service } from '../scripts/lib/services.ts'
import { COUNT_CAP } from '../src/admin/images/list-query.ts'
import { imageModel } from '../src/models/image.ts'
import { describeMachine, machineInfo } from './lib/machine.ts'
import { cpuMs, treeCpuMs } from './lib/processes.ts'
import { heading, note, table, writeResult } from './lib/report.ts'
import { round, summarize } from './lib/stats.ts'
import { BENCH_DATA } from './lib/stack.ts'

const RECORDS_PER_PHONE = 20
const TIME_BUDGET_MS = 15_000
const MIN_RUNS = 3
/** The admin list's smallest page size (list-query.ts PAGE_SIZES); it asks for one row more. */
const PAGE = 25

interface Row {
  backend: EmbeddedDb
  docs: number
  query: string
  runs: number
  p50: number
  max: number
  serverCpuMs: number
  rows: number
}

interface Startup {
  backend: EmbeddedDb
  what: string
  ms: number
}

async function serverCpu (ferret: Service): Promise<number> {
  return await cpuMs(ferret.process.pid!) + (ferret.postgres ? await treeCpuMs(ferret.postgres.process.pid!) : 0)
}

/** Record j: phone j / 20, one minute older than record j - 1, shaped as the worker writes them. */
function record (j: number, newest: number): Record<string, unknown> {
  const phone = String(1_000_000_000 + Math.floor(j / RECORDS_PER_PHONE))
  const name = `2026-01-01_00:00:00_img${j}.jpg`
  return {
    _id: new Types.ObjectId(),
    phone_number: phone,
    file_name: name,
    image_url: `http://127.0.0.1:3000/files/${phone}/${encodeURIComponent(name)}`,
    uploaded_at: new Date(newest - j * 60_000),
    original_name: `img${j}.jpg`,
    storage: 'local',
    storage_path: `/${phone}/${name}`,
    size: 102400,
    content_type: 'image/jpeg',
    content_hash: 'f'.repeat(64)
  }
}

async function measureStartup (backend: EmbeddedDb, dir: string): Promise<Startup[]> {
  const out: Startup[] = []
  if (backend === 'postgresql') out.push({ backend, what: 'initdb (once per machine: the template cluster under .local/postgres)', ms: round(await timeInitdb(dir), 0) })
  let t0 = performance.now()
  let ferret = await startFerretDB(dir, 'startup', { backend })
  out.push({ backend, what: backend === 'postgresql' ? 'start, new data (template copied; PostgreSQL, then FerretDB)' : 'start, new data', ms: round(performance.now() - t0, 0) })
  const connection = await createConnection(ferret.url).asPromise()
  t0 = performance.now()
  await connection.db!.collection('images').insertOne(record(0, Date.now()))
  out.push({ backend, what: 'first insert (creates the database and collection)', ms: round(performance.now() - t0, 0) })
  await connection.close()
  t0 = performance.now()
  await ferret.stop()
  out.push({ backend, what: 'stop', ms: round(performance.now() - t0, 0) })
  t0 = performance.now()
  ferret = await startFerretDB(dir, 'startup', { backend })
  out.push({ backend, what: 'start, existing data (npm run dev the second time)', ms: round(performance.now() - t0, 0) })
  await ferret.stop()
  return out
}

export async function runDatabaseBench (args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      sizes: { type: 'string', default: '1000,10000,100000' },
      backends: { type: 'string', default: 'postgresql,sqlite' },
      runs: { type: 'string', default: '9' }
    },
    strict: true
  })
  const sizes = values.sizes.split(',').map(Number)
  const backends = values.backends.split(',') as EmbeddedDb[]
  const maxRuns = Math.max(MIN_RUNS, Number(values.runs))
  const machine = machineInfo()
  heading(`The embedded database: the service's reads on FerretDB as the collection grows (${backends.join(', ')})`)
  console.log(describeMachine(machine))

  const rows: Row[] = []
  const startup: Startup[] = []
  const inserts: Array<{ backend: EmbeddedDb, docs: number, perSecond: number }> = []
  try {
    for (const backend of backends) {
      const dir = join(BENCH_DATA, `database-${backend}`)
      await mkdir(dir, { recursive: true })
      startup.push(...await measureStartup(backend, join(dir, 'startup')))

      const ferret = await startFerretDB(dir, 'bench', { backend })
      const connection = createConnection(ferret.url, { autoIndex: false })
      try {
        await connection.asPromise()
        const images = imageModel(connection)
        // The service's own indexes (models/image.ts), as openDatabase makes them.
        await images.createIndexes()
        const newest = Date.now()
        let count = 0
        for (const size of sizes) {
          const t0 = performance.now()
          const from = count
          while (count < size) {
            const batch = Array.from({ length: Math.min(1000, size - count) }, (_, i) => record(count + i, newest))
            await images.collection.insertMany(batch, { ordered: false })
            count += batch.length
          }
          if (count > from) inserts.push({ backend, docs: count, perSecond: round((count - from) / ((performance.now() - t0) / 1000), 0) })
          const ids = (await images.find({}, { _id: 1 }).limit(200).lean()).map(d => d._id)
          const phones = Math.floor(count / RECORDS_PER_PHONE)
          const pick = <T>(list: T[]): T => list[Math.floor(Math.random() * list.length)]!
          const queries: Array<[string, () => Promise<number>]> = [
            ['get-phone: find({phone_number}).sort({uploaded_at: -1})', async () =>
              (await images.find({ phone_number: String(1_000_000_000 + Math.floor(Math.random() * phones)) }, { file_name: 1, image_url: 1, uploaded_at: 1 })
                .sort({ uploaded_at: -1 }).lean()).length],
            ['by _id: findById', async () => (await images.findById(pick(ids)).lean()) ? 1 : 0],
            ['admin first page: find({}).sort({uploaded_at: -1, _id: -1}).limit(26)', async () =>
              (await images.find({}, { phone_number: 1, file_name: 1, image_url: 1, uploaded_at: 1, variants: 1 })
                .sort({ uploaded_at: -1, _id: -1 }).limit(PAGE + 1).lean()).length],
            [`admin count: countDocuments({}, {limit: ${COUNT_CAP + 1}})`, () => images.countDocuments({}, { limit: COUNT_CAP + 1 })],
            ['first page of the last day only: {uploaded_at: {$gte: now - 1 day}}', async () =>
              (await images.find({ uploaded_at: { $gte: new Date(newest - 86_400_000) } }, { phone_number: 1, file_name: 1, image_url: 1, uploaded_at: 1, variants: 1 })
                .sort({ uploaded_at: -1, _id: -1 }).limit(PAGE + 1).lean()).length]
          ]
          for (const [query, run] of queries) {
            await run()
            const times: number[] = []
            let found = 0
            const cpu0 = await serverCpu(ferret)
            const started = performance.now()
            while (times.length < maxRuns && (times.length < MIN_RUNS || performance.now() - started < TIME_BUDGET_MS)) {
              const t0 = performance.now()
              found = await run()
              times.push(performance.now() - t0)
            }
            const cpu = (await serverCpu(ferret) - cpu0) / times.length
            const s = summarize(times)
            rows.push({ backend, docs: count, query, runs: times.length, p50: round(s.p50, 1), max: round(s.max, 1), serverCpuMs: round(cpu, 0), rows: found })
            note(`${backend} ${count} ${query}: p50 ${round(s.p50, 1)} ms`)
          }
        }
      } finally {
        await connection.close()
        await ferret.stop()
      }
    }
  } finally {
    await rm(BENCH_DATA, { recursive: true, force: true })
  }

  heading('Start-up (each backend, on this machine)')
  console.log(table(['backend', 'step', 'ms'], startup.map(s => [s.backend, s.what, s.ms])))
  heading('Inserts (insertMany of 1,000, the service indexes in place)')
  console.log(table(['backend', 'up to documents', 'records/s'], inserts.map(i => [i.backend, i.docs, i.perSecond])))
  heading('Reads: wall ms (client side) and server CPU ms per query')
  console.log(table(['backend', 'documents', 'query', 'runs', 'p50 ms', 'max ms', 'server CPU ms', 'rows'],
    rows.map(r => [r.backend, r.docs, r.query, r.runs, r.p50, r.max, r.serverCpuMs, r.rows])))
  const end = machineInfo().loadAverage
  console.log(`load average at the end: ${end.join(' ')} (other work on the machine competes for the same cores)`)
  const file = await writeResult('database', { machine, loadAverageAtEnd: end, startup, inserts, rows })
  console.log(`result file: ${file}`)
}

if (import.meta.main) {
  runDatabaseBench(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
