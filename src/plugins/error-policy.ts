import type { FastifyError } from 'fastify'
import { HttpError } from '../core/http-error.ts'
import { isDatabaseUnavailable } from '../models/connect.ts'
import { isRedisUnavailable } from '../queue/redis.ts'
import { StagingUnavailableError } from '../staging/s3-staging.ts'

export interface ErrorAnswer {
  status: number
  message: string
  headers: Record<string, string>
  /** client: the caller's mistake; unavailable: a dependency is down (log a warning); internal: a bug (log an error). */
  kind: 'client' | 'unavailable' | 'internal'
}

export interface ErrorWording {
  invalid: (detail: string) => string
  unavailable: string
  internal: string
}

/** Seconds a client should wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = '5'

/**
 * The one mapping from an error to what the client is told. The JSON API and the admin's HTML
 * pages render it each their own way, with their own wording for the generic cases.
 */
export function answerFor (error: FastifyError, wording: ErrorWording): ErrorAnswer {
  if (error instanceof HttpError) {
    return { status: error.statusCode, message: error.message, headers: error.headers, kind: error.statusCode >= 500 ? 'unavailable' : 'client' }
  }
  if (error.validation) return { status: 400, message: wording.invalid(error.message), headers: {}, kind: 'client' }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return { status: error.statusCode, message: error.message, headers: {}, kind: 'client' }
  }
  if (isDatabaseUnavailable(error) || isRedisUnavailable(error) || error instanceof StagingUnavailableError) {
    return { status: 503, message: wording.unavailable, headers: { 'retry-after': RETRY_AFTER_SECONDS }, kind: 'unavailable' }
  }
  return { status: 500, message: wording.internal, headers: {}, kind: 'internal' }
}
