import closeWithGrace from 'close-with-grace'

/**
 * The one way a process of ours stops: on SIGTERM/SIGINT (or a crash) it runs `close` once and
 * exits 0, or 1 when closing failed or outlived `deadlineMs` - a process asked to stop always
 * stops. A second signal exits at once.
 */
/** What shutdown logs through: pino's logger, or Fastify's. */
export interface ShutdownLogger {
  info: (obj: object, msg: string) => void
  error: (obj: object, msg: string) => void
}

export function closeOnSignals (logger: ShutdownLogger, deadlineMs: number, close: (signal: string | undefined) => Promise<void>): void {
  closeWithGrace({
    delay: deadlineMs,
    onTimeout: ms => { logger.error({ deadlineMs: ms }, 'shutdown took too long; exiting') }
  }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'fatal error; shutting down')
    else logger.info({ signal }, 'shutting down')
    await close(signal)
  })
}
