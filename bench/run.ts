// Benchmark dispatcher (scripts/run.sh bench forwards its arguments here).
//   npm run bench                       issue 2: upload throughput (a)/(b)/(c) + 1 GiB local RSS
//   npm run bench:dropbox               issue 3: naive vs ours under contention + 1 GiB Dropbox RSS
//   npm run bench -- throughput [...]   one benchmark alone, with its flags (see each file)
//   npm run bench -- all                both suites
//   npm run bench -- location [...]     issue 12: location removal's cost per image
//   npm run bench -- recovery [...]     issue 9: takeover after kill -9, SIGTERM with idle clients
//   npm run bench -- concurrent-memory [...]  issue 11: API peak RSS with 200 concurrent 5 MiB uploads
//   npm run bench -- dropbox-sync [...] issue 14: a first Dropbox sync over 10,000 files, then changes
//   npm run bench -- resumable [...]    issue 10: a 20 MB image over a link dropping every 4 MB, multipart vs tus
//   npm run bench -- variants [...]     issue 12: renderings per core (12 MP JPEG, HEIC), variant worker memory, ingest on/off
//   npm run bench -- database [...]     issue 13: the service's reads on FerretDB on PostgreSQL and SQLite at 1k/10k/100k records, start-up
//   npm run bench -- worker-scaling [...]  issue 13: images/s with 2 upload workers / 1 under 100 ms Dropbox latency (target >= 1.8)
import { parseSyncBenchArgs, runSyncBench } from './dropbox-sync.ts'
import { parseConcurrentMemoryArgs, runConcurrentMemory } from './concurrent-memory.ts'
import { runDatabaseBench } from './database.ts'
import { runFerretScaling } from './ferretdb-scaling.ts'
import { parseLargeFileArgs, runLargeFile } from './large-file-memory.ts'
import { runLocationCost } from './location-cost.ts'
import { parseStrategyArgs, runStrategies } from './dropbox-strategies.ts'
import { parseRecoveryArgs, runRecovery } from './recovery.ts'
import { parseResumableArgs, runResumable } from './resumable.ts'
import { parseThroughputArgs, runThroughput } from './upload-throughput.ts'
import { parseVariantBenchArgs, runVariantBench } from './variants.ts'
import { parseScalingArgs, runWorkerScaling } from './worker-scaling.ts'

// Issue 3's 1 GiB upload runs against the same emulator settings as its strategies benchmark.
const DROPBOX_MEMORY_ARGS = ['--storage', 'dropbox', '--latency-ms', '100']

const suites: Record<string, (args: string[]) => Promise<unknown>> = {
  throughput: args => runThroughput(parseThroughputArgs(args)),
  memory: args => runLargeFile(parseLargeFileArgs(args)),
  strategies: args => runStrategies(parseStrategyArgs(args)),
  'dropbox-memory': args => runLargeFile(parseLargeFileArgs([...DROPBOX_MEMORY_ARGS, ...args])),
  ferretdb: args => runFerretScaling(args),
  database: args => runDatabaseBench(args),
  location: args => runLocationCost(args),
  recovery: args => runRecovery(parseRecoveryArgs(args)),
  'concurrent-memory': args => runConcurrentMemory(parseConcurrentMemoryArgs(args)),
  'dropbox-sync': args => runSyncBench(parseSyncBenchArgs(args)),
  resumable: args => runResumable(parseResumableArgs(args)),
  variants: args => runVariantBench(parseVariantBenchArgs(args)),
  'worker-scaling': args => runWorkerScaling(parseScalingArgs(args)),
  upload: async () => {
    await runThroughput(parseThroughputArgs([]))
    await runLargeFile(parseLargeFileArgs([]))
  },
  dropbox: async () => {
    await runStrategies(parseStrategyArgs([]))
    await runLargeFile(parseLargeFileArgs(DROPBOX_MEMORY_ARGS))
  },
  all: async () => {
    await suites.upload!([])
    await suites.dropbox!([])
  }
}

const [name = 'upload', ...args] = process.argv.slice(2)
const suite = suites[name]
if (!suite) {
  console.error(`unknown benchmark '${name}'; one of: ${Object.keys(suites).join(', ')}`)
  process.exit(2)
}
const stop = (): void => { process.exit(130) }
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
try {
  await suite(args)
} catch (err) {
  console.error(err)
  process.exitCode = 1
}
