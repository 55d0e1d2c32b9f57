// Prometheus metrics (prom-client). Each process role builds its own registry (the API's in
// plugins/metrics.ts, the worker's in worker/start-worker.ts), never prom-client's global one:
// the tests run an API and a worker in one process, and each must report only its own work.
// Label values are always from a closed set (route patterns, error kinds), never client input.
import { createHash, timingSafeEqual } from 'node:crypto'
import { UnrecoverableError } from 'bullmq'
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client'
import { isDatabaseUnavailable } from '../models/connect.ts'
import { isRedisUnavailable } from '../queue/redis.ts'
import { StoragePermanentError, StorageRateLimitError, StorageTransientError } from '../storage/errors.ts'
import type { Storage } from '../storage/storage.ts'

export const PREFIX = 'image_upload_'

/** A registry of its own, with Node's default metrics (CPU, memory, event loop lag, GC, handles). */
export function createRegistry (): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  return registry
}

/** Storage calls as every process makes them (workers store, the API reads and deletes). */
export interface StorageMetrics {
  calls: Counter<'backend' | 'operation' | 'outcome'>
  duration: Histogram<'backend' | 'operation'>
  /** Storage asked us to wait (Dropbox's 429), by its reason (too_many_requests, too_many_write_operations). */
  rateLimited: Counter<'backend' | 'reason'>
  /** Entries per Dropbox finish_batch_v2 commit. */
  batchEntries: Histogram
}

export function storageMetrics (registry: Registry): StorageMetrics {
  return {
    calls: new Counter({
      name: `${PREFIX}storage_calls_total`,
      help: 'Storage calls by backend, operation and outcome (ok, rate_limited, refused, transient, error).',
      labelNames: ['backend', 'operation', 'outcome'] as const,
      registers: [registry]
    }),
    duration: new Histogram({
      name: `${PREFIX}storage_call_duration_seconds`,
      help: 'Duration of storage calls (a read: until its bytes start flowing).',
      labelNames: ['backend', 'operation'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry]
    }),
    rateLimited: new Counter({
      name: `${PREFIX}storage_rate_limited_total`,
      help: 'Times storage asked us to wait (Dropbox 429), by reason.',
      labelNames: ['backend', 'reason'] as const,
      registers: [registry]
    }),
    batchEntries: new Histogram({
      name: `${PREFIX}dropbox_batch_entries`,
      help: 'Files per Dropbox batch commit (finish_batch_v2).',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers: [registry]
    })
  }
}

/** What went wrong, as a label: the storage-neutral error kinds, dependencies down, or other. */
export function errorKind (err: unknown): string {
  if (err instanceof StorageRateLimitError) return 'rate_limited'
  if (err instanceof StoragePermanentError) return 'refused'
  if (err instanceof StorageTransientError) return 'transient'
  if (isDatabaseUnavailable(err)) return 'database_unavailable'
  if (err instanceof Error && isRedisUnavailable(err)) return 'redis_unavailable'
  if (err instanceof UnrecoverableError) return 'unrecoverable'
  return 'error'
}

const TIMED = new Set(['put', 'holds', 'publicUrl', 'remove', 'read', 'write', 'checkReady'])

/**
 * The same storage, with every call counted and timed. A Proxy rather than a wrapper class, so
 * that whatever else a backend offers (its change tracking, methods added later) passes through
 * untouched, and `instanceof` still sees the backend's class.
 */
export function instrumentStorage<S extends Storage> (storage: S, metrics: StorageMetrics): S {
  const backend = storage.kind
  const wrapped = new Map<PropertyKey, unknown>()
  const timed = (operation: string, call: (...args: unknown[]) => Promise<unknown>) => async (...args: unknown[]): Promise<unknown> => {
    const end = metrics.duration.startTimer({ backend, operation })
    try {
      const result = await call.apply(storage, args)
      metrics.calls.inc({ backend, operation, outcome: 'ok' })
      return result
    } catch (err) {
      const kind = errorKind(err)
      metrics.calls.inc({ backend, operation, outcome: ['rate_limited', 'refused', 'transient'].includes(kind) ? kind : 'error' })
      if (err instanceof StorageRateLimitError) metrics.rateLimited.inc({ backend, reason: err.reason })
      throw err
    } finally {
      end()
    }
  }
  return new Proxy(storage, {
    get (target, property) {
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== 'function') return value
      let fn = wrapped.get(property)
      if (fn === undefined) {
        const bound = (value as (...args: unknown[]) => unknown).bind(target)
        fn = typeof property === 'string' && TIMED.has(property) ? timed(property, bound as (...args: unknown[]) => Promise<unknown>) : bound
        wrapped.set(property, fn)
      }
      return fn
    }
  })
}

/** The hooks createStorage takes for the Dropbox commit batcher: its 429s and batch sizes. */
export function batchObservers (metrics: StorageMetrics, backend: string): { onRateLimitedReason: (reason: string) => void, onBatchCommitted: (entries: number) => void } {
  return {
    onRateLimitedReason: reason => { metrics.rateLimited.inc({ backend, reason }) },
    onBatchCommitted: entries => { metrics.batchEntries.observe(entries) }
  }
}

/**
 * `Authorization: Bearer <METRICS_TOKEN>`, compared in constant time (both sides hashed first,
 * so their lengths cannot be told apart either).
 */
export function bearerMatches (authorization: string | undefined, token: string): boolean {
  const given = /^Bearer +(\S+) *$/i.exec(authorization ?? '')?.[1]
  if (given === undefined) return false
  const digest = (value: string): Buffer => createHash('sha256').update(value).digest()
  return timingSafeEqual(digest(given), digest(token))
}

/** A worker's jobs: how long they took, how they ended, why they were retried, takeovers. */
export interface JobMetrics {
  duration: Histogram<'queue' | 'outcome'>
  retries: Counter<'queue' | 'reason'>
  failed: Counter<'queue' | 'reason'>
  stalled: Counter<'queue'>
}

export function jobMetrics (registry: Registry): JobMetrics {
  return {
    duration: new Histogram({
      name: `${PREFIX}job_duration_seconds`,
      help: 'Job runs by queue and outcome (completed; error: will be retried or has failed; rate_limited: put back while storage asks us to wait).',
      labelNames: ['queue', 'outcome'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers: [registry]
    }),
    retries: new Counter({
      name: `${PREFIX}job_retries_total`,
      help: 'Job attempts that failed and will be retried, by reason (transient, database_unavailable, redis_unavailable, error...).',
      labelNames: ['queue', 'reason'] as const,
      registers: [registry]
    }),
    failed: new Counter({
      name: `${PREFIX}jobs_failed_total`,
      help: 'Jobs failed for good (no attempt left, or a refusal no retry can change), by reason.',
      labelNames: ['queue', 'reason'] as const,
      registers: [registry]
    }),
    stalled: new Counter({
      name: `${PREFIX}jobs_stalled_total`,
      help: 'Jobs whose worker stopped renewing their lock (killed, or its event loop blocked), handed to another worker.',
      labelNames: ['queue'] as const,
      registers: [registry]
    })
  }
}
