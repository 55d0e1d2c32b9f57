import { readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Queue } from 'bullmq'
import type { Logger } from 'pino'

/** Older than any upload still being received (requests time out after 10 minutes). */
export const ORPHAN_AGE_MS = 60 * 60 * 1000
export const SWEEP_INTERVAL_MS = 10 * 60 * 1000

/**
 * Removes staged files nothing will ever read: those whose job is gone (an API that died between
 * staging and queueing, or a failed job past its retention) or completed. Files of waiting,
 * active, delayed and failed jobs stay: failed ones can still be retried from the dashboard.
 * Returns the names removed.
 */
export async function sweepStaging (stagingDir: string, queue: Queue, logger: Logger, now = Date.now()): Promise<string[]> {
  const removed: string[] = []
  for (const name of await readdir(stagingDir).catch(() => [])) {
    const path = join(stagingDir, name)
    const info = await stat(path).catch(() => undefined)
    if (!info?.isFile() || now - info.mtimeMs < ORPHAN_AGE_MS) continue
    const job = await queue.getJob(name)
    const state = job ? await job.getState() : 'gone'
    if (state === 'gone' || state === 'completed' || state === 'unknown') {
      await rm(path, { force: true })
      removed.push(name)
    }
  }
  if (removed.length > 0) logger.info({ removed: removed.length }, 'removed orphaned staged files')
  return removed
}
