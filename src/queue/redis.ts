import { setTimeout as sleep } from 'node:timers/promises'
import { Redis, type RedisOptions } from 'ioredis'

type ErrorListener = (err: Error) => void

// The API must fail fast when Redis is down (an add that cannot reach Redis becomes a 503 at
// once instead of hanging the request); workers and blocking readers must wait for Redis forever.
// Both reconnect on their own; errors go to the caller's listener (ioredis prints "Unhandled
// error event" for every reconnect attempt otherwise).
export function producerConnection (url: string, connectionName: string, onError: ErrorListener): Redis {
  return new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectionName } satisfies RedisOptions).on('error', onError)
}

export function blockingConnection (url: string, connectionName: string, onError: ErrorListener): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, connectionName } satisfies RedisOptions).on('error', onError)
}

/**
 * A connection for SUBSCRIBE only (a subscribed connection takes no other command). It waits for
 * Redis forever and subscribes again after every reconnect; what is published meanwhile is lost,
 * so its readers must have a fallback (JobWaiter's sweep).
 */
export function subscriberConnection (url: string, connectionName: string, onError: ErrorListener): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, autoResubscribe: true, connectionName } satisfies RedisOptions).on('error', onError)
}

/** Resolves once the connection can take commands (a fail-fast connection refuses them before). */
export async function connected (redis: Redis): Promise<void> {
  if (redis.status === 'ready') return
  await new Promise<void>(resolve => redis.once('ready', () => resolve()))
}

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'])

/**
 * Redis is unreachable: a socket error, or a command refused at once because the connection is
 * down (the producer's enableOfflineQueue:false). BullMQ re-emits these; requests answer 503.
 */
export function isRedisUnavailable (err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code
  return (code !== undefined && CONNECTION_ERRORS.has(code)) ||
    err.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|Stream isn't writeable|enableOfflineQueue/.test(err.message)
}

/**
 * Runs a graceful close, but gives up after `ms`: with Redis unreachable, BullMQ's close waits
 * for commands that never return, and a process asked to stop must stop. Whatever was cut short
 * (an active job) is retried by the stalled-job check of another worker.
 */
export async function closeWithin (ms: number, close: () => Promise<unknown>): Promise<boolean> {
  const timer = new AbortController()
  const finished = await Promise.race([
    close().then(() => true),
    sleep(ms, false, { signal: timer.signal }).catch(() => false)
  ])
  timer.abort()
  return finished
}
