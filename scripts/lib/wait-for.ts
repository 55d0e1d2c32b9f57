// The one way tests, scripts and benchmarks wait: on a state, checked again and again until it
// holds or a deadline passes. Never a fixed sleep that hopes the state has arrived.
import { setTimeout as sleep } from 'node:timers/promises'

export interface WaitOptions {
  /** What is awaited, for the error message. */
  what: string
  timeoutMs?: number
  intervalMs?: number
}

/**
 * Resolves with the first truthy value `check` returns; a check that throws counts as not yet.
 * Rejects after `timeoutMs` with the last error, if any.
 */
export async function waitFor<T> (check: () => T | Promise<T>, { what, timeoutMs = 30_000, intervalMs = 50 }: WaitOptions): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await check()
      if (value) return value as NonNullable<T>
    } catch (err) {
      lastError = err
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError })
    }
    await sleep(intervalMs)
  }
}
