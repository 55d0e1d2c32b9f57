// `npm run worker`: one upload worker process. Scale by running more of them (all share the
// staging directory, Redis and MongoDB).
import { pino } from 'pino'
import { ConfigError, loadConfig } from '../src/config.ts'
import { startUploadWorker } from './start-worker.ts'

async function main (): Promise<void> {
  const config = loadConfig()
  const logger = pino({ level: config.logLevel, base: { role: 'worker', pid: process.pid } })
  const running = await startUploadWorker(config, logger)

  let closing = false
  const shutdown = (signal: string): void => {
    if (closing) return
    closing = true
    // close() lets active jobs finish; a job cut short by a kill is picked up again by the
    // stalled-job check of another worker and retried safely.
    logger.info({ signal }, 'shutting down: finishing active jobs')
    running.close().then(() => {
      logger.info('worker stopped')
      process.exit(0)
    }, (err: unknown) => {
      logger.error({ err }, 'error while stopping')
      process.exit(1)
    })
  }
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err)
  process.exit(1)
})
