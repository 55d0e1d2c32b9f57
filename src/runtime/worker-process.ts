import { pino, type Logger } from 'pino'
import { ConfigError, loadConfig, type Config } from '../config.ts'
import { closeOnSignals } from './shutdown.ts'

export interface WorkerProcess {
  /** The `role` field of every log line. */
  role: string
  start: (config: Config, logger: Logger) => Promise<{ close: () => Promise<void> }>
  /** How long closing (active jobs finishing) may take before the process exits anyway. */
  closeDeadlineMs: number
}

/**
 * The life of a worker process (`npm run worker`, `npm run variant-worker`): settings, a logger,
 * start, and on SIGTERM a graceful close that lets active jobs finish; a bad setting exits 1
 * with a message naming it. A job cut short by a kill is taken over by another worker.
 */
export function runWorkerProcess ({ role, start, closeDeadlineMs }: WorkerProcess): void {
  const main = async (): Promise<void> => {
    const config = loadConfig()
    const logger = pino({ level: config.logLevel, base: { role, pid: process.pid } })
    const running = await start(config, logger)
    closeOnSignals(logger, closeDeadlineMs, async () => {
      await running.close()
      logger.info(`${role} stopped`)
    })
  }
  main().catch((err: unknown) => {
    console.error(err instanceof ConfigError ? err.message : err)
    process.exit(1)
  })
}
