// `npm run variant-worker`: one variant worker process, which makes the display rendering and
// the thumbnail of every stored image (src/worker/variants/). CPU-bound: run one per machine with
// VARIANT_CONCURRENCY about its cores, beside any number of upload workers. scripts/run.sh starts
// it with jemalloc when the machine has it (README, "Variants"): glibc's allocator lets a
// long-running sharp process grow.
import { pino } from 'pino'
import { ConfigError, loadConfig } from '../src/config.ts'
import { closeOnSignals } from '../src/runtime/shutdown.ts'
import { startVariantWorker, VARIANT_WORKER_CLOSE_DEADLINE_MS } from '../src/worker/variants/start-variant-worker.ts'

async function main (): Promise<void> {
  const config = loadConfig()
  const logger = pino({ level: config.logLevel, base: { role: 'variant-worker', pid: process.pid } })
  const running = await startVariantWorker(config, logger)
  closeOnSignals(logger, VARIANT_WORKER_CLOSE_DEADLINE_MS, async () => {
    await running.close()
    logger.info('variant worker stopped')
  })
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err)
  process.exit(1)
})
