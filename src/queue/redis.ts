import { Redis, type RedisOptions } from 'ioredis'

// The API must fail fast when Redis is down (an add that cannot reach Redis becomes a 503 at
// once instead of hanging the request); workers and blocking readers must wait for Redis forever.
export function producerConnection (url: string): Redis {
  return new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectionName: 'api' } satisfies RedisOptions)
}

export function blockingConnection (url: string, connectionName: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, connectionName } satisfies RedisOptions)
}
