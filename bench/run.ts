// Benchmark dispatcher (scripts/run.sh bench forwards its arguments here).
//   npm run bench                       issue 2: upload throughput (a)/(b)/(c) + 1 GiB local RSS
//   npm run bench:dropbox               issue 3: naive vs ours under contention + 1 GiB Dropbox RSS
//   npm run bench -- throughput [...]   one benchmark alone, with its flags (see each file)
//   npm run bench -- all                both suites
import { runFerretScaling } from './ferretdb-scaling.ts'
import { parseLargeFileArgs, runLargeFile } from './large-file-memory.ts'
import { parseStrategyArgs, runStrategies } from './dropbox-strategies.ts'
import { parseThroughputArgs, runThroughput } from './upload-throughput.ts'

// Issue 3's 1 GiB upload runs against the same emulator settings as its strategies benchmark.
const DROPBOX_MEMORY_ARGS = ['--storage', 'dropbox', '--latency-ms', '100']

const suites: Record<string, (args: string[]) => Promise<unknown>> = {
  throughput: args => runThroughput(parseThroughputArgs(args)),
  memory: args => runLargeFile(parseLargeFileArgs(args)),
  strategies: args => runStrategies(parseStrategyArgs(args)),
  'dropbox-memory': args => runLargeFile(parseLargeFileArgs([...DROPBOX_MEMORY_ARGS, ...args])),
  ferretdb: args => runFerretScaling(args),
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
