import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { Config } from '../config.ts'
import { ResumableStore } from '../staging/resumable-store.ts'
import { SWEEP_INTERVAL_MS } from './staging-janitor.ts'

/**
 * Sweeps resumable uploads that expired unfinished (RESUMABLE_UPLOAD_TTL): their bytes and state
 * go (tus's cleanUpExpiredUploads, on the store the API writes to). Every worker sweeps, at start
 * and then as often as the staging sweep, or twice per TTL when that is shorter; two workers
 * sweeping at once remove nothing twice. Returns a function that stops it.
 */
export function startResumableJanitor (config: Config, redis: Redis, logger: Logger): () => void {
  const { upload } = config
  const store = ResumableStore.fromConfig(config, redis)
  let running = false
  const sweep = (): void => {
    if (running) return
    running = true
    store.deleteExpired()
      .then(removed => { if (removed > 0) logger.info({ removed }, 'removed expired resumable uploads') })
      .catch(err => logger.warn({ err }, 'resumable upload sweep failed'))
      .finally(() => { running = false })
  }
  sweep()
  const timer = setInterval(sweep, Math.max(1000, Math.min(SWEEP_INTERVAL_MS, upload.resumableTtlMs / 2))).unref()
  return () => {
    clearInterval(timer)
    store.close()
  }
}
