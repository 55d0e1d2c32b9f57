import { setTimeout as sleep } from 'node:timers/promises'
import { StorageRateLimitError } from '../../storage/errors.ts'

const MAX_RATE_LIMITED = 20

/**
 * Runs one storage call, waiting out 429s (Retry-After) and trying again: the sync is never in a
 * hurry, and its saved position makes any other failure cheap to retry from the next run.
 */
export async function patiently<T> (call: () => Promise<T>, signal: AbortSignal): Promise<T> {
  for (let limited = 0; ; limited++) {
    signal.throwIfAborted()
    try {
      return await call()
    } catch (err) {
      if (!(err instanceof StorageRateLimitError) || limited >= MAX_RATE_LIMITED) throw err
      await sleep(err.retryAfterMs, undefined, { signal })
    }
  }
}

/** `work` over every item, at most `limit` at once, results in order. */
export async function mapLimit<T, R> (items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      results[i] = await work(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane))
  return results
}
