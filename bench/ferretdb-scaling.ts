// What the worker's MongoDB operations cost on FerretDB as the images collection grows, on the
// embedded backend (EMBEDDED_DB: PostgreSQL by default, or SQLite). FerretDB 1.24 hands SQLite no
// index lookups for most filters: a query is a scan of the whole collection, so a per-upload read
// or upsert gets slower with every stored image, while an insert stays flat. This measures the
// server's CPU (FerretDB's, plus all of PostgreSQL's processes') and the wall time per operation.
// bench/database.ts times the service's reads on both backends.
//   EMBEDDED_DB=sqlite node bench/run.ts ferretdb [--sizes 0,1000,5000] [--ops 50]
import { rm } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { Types, createConnection } from 'mongoose'
import { startFerretDB } from '../scripts/lib/services.ts'
import { describeMachine, machineInfo } from './lib/machine.ts'
import { cpuMs, treeCpuMs } from './lib/processes.ts'
import { heading, table, writeResult } from './lib/report.ts'
import { round } from './lib/stats.ts'
import { BENCH_DATA } from './lib/stack.ts'

const record = (): Record<string, unknown> => ({
  _id: new Types.ObjectId(),
  phone_number: `555${Math.floor(Math.random() * 1000)}`,
  file_name: '2026-01-01_00:00:00_photo.png',
  image_url: 'http://127.0.0.1:3000/files/5550000000/2026-01-01_00%3A00%3A00_photo.png',
  uploaded_at: new Date(),
  storage: 'local',
  storage_path: '/5550000000/2026-01-01_00:00:00_photo.png',
  size: 102400,
  content_type: 'image/png',
  content_hash: 'f'.repeat(64)
})

export async function runFerretScaling (args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { sizes: { type: 'string', default: '0,1000,5000' }, ops: { type: 'string', default: '50' } }, strict: true })
  const sizes = values.sizes.split(',').map(Number)
  const ops = Number(values.ops)
  const machine = machineInfo()
  heading(`FerretDB: cost per operation as the collection grows (${ops} operations each)`)
  console.log(describeMachine(machine))
  const ferret = await startFerretDB(BENCH_DATA, 'scaling')
  console.log(`FerretDB on ${ferret.postgres ? 'PostgreSQL' : 'SQLite'}`)
  const serverCpuMs = async (): Promise<number> => await cpuMs(ferret.process.pid!) + (ferret.postgres ? await treeCpuMs(ferret.postgres.process.pid!) : 0)
  const connection = createConnection(ferret.url)
  const rows: Array<{ docs: number, operation: string, wallMs: number, ferretCpuMs: number }> = []
  try {
    await connection.asPromise()
    const images = connection.db!.collection('images')
    await images.createIndex({ phone_number: 1, uploaded_at: -1 })
    const measure = async (docs: number, operation: string, run: () => Promise<unknown>): Promise<void> => {
      const cpu0 = await serverCpuMs()
      const t0 = performance.now()
      for (let i = 0; i < ops; i++) await run()
      rows.push({ docs, operation, wallMs: round((performance.now() - t0) / ops, 2), ferretCpuMs: round((await serverCpuMs() - cpu0) / ops, 2) })
    }
    let count = 0
    for (const size of sizes) {
      while (count < size) {
        const batch = Array.from({ length: Math.min(1000, size - count) }, record)
        await images.insertMany(batch)
        count += batch.length
      }
      // Reads first, so they see `docs` records; then the writes, which add ~1,100.
      const docs = await images.countDocuments()
      await measure(docs, 'findOne by _id (miss)', () => images.findOne({ _id: new Types.ObjectId() }))
      await measure(docs, 'findOne by another field (miss)', () => images.findOne({ storage_path: `/none/${Math.random()}` }))
      await measure(docs, 'updateOne by _id, upsert (insert)', () => images.updateOne({ _id: new Types.ObjectId() }, { $setOnInsert: { size: 1 } }, { upsert: true }))
      await measure(docs, 'insertOne', () => images.insertOne(record()))
      await measure(docs, 'insertMany of 20 (per record)', async () => {
        await images.insertMany(Array.from({ length: 20 }, record))
      })
      rows.at(-1)!.wallMs = round(rows.at(-1)!.wallMs / 20, 2)
      rows.at(-1)!.ferretCpuMs = round(rows.at(-1)!.ferretCpuMs / 20, 2)
      count = await images.countDocuments()
    }
  } finally {
    await connection.close()
    await ferret.stop()
    await rm(BENCH_DATA, { recursive: true, force: true })
  }
  console.log(table(['documents', 'operation', 'wall ms/op', 'server CPU ms/op'], rows.map(r => [r.docs, r.operation, r.wallMs, r.ferretCpuMs])))
  const file = await writeResult('ferretdb-scaling', { machine, backend: ferret.postgres ? 'postgresql' : 'sqlite', ops, rows })
  console.log(`result file: ${file}`)
}

if (import.meta.main) {
  runFerretScaling(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
