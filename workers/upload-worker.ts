// `npm run worker`: one upload worker process. Scale by running more of them (all share the
// staging directory, Redis and MongoDB). The worker itself lives in src/worker/.
import { pino } from 'pino'
import { ConfigError, loadConfig } from '../src/config.ts'
import { closeOnSignals } from '../src/runtime/shutdown.ts'
import { startUploadWorker, WORKER_CLOSE_DEADLINE_MS } from '../src/worker/start-worker.ts'

async function main (): Promise<void> {
  const config = loadConfig()
  const logger = pino({ level: config.logLevel, base: { role: 'worker', pid: process.pid } })
  const running = await startUploadWorker(config, logger)
  // close() lets active jobs finish; a job cut short by a kill is picked up again by the
  // stalled-job check of another worker and retried safely.
  closeOnSignals(logger, WORKER_CLOSE_DEADLINE_MS, async () => {
    await running.close()
    logger.info('worker stopped')
  })
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err)
  process.exit(1)
})
