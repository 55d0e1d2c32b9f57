import underPressure, { type FastifyUnderPressureOptions } from '@fastify/under-pressure'
import fp from 'fastify-plugin'

/** Seconds an overloaded API asks clients to wait before retrying. */
export const OVERLOADED_RETRY_AFTER_SECONDS = 10

export const OVERLOADED_MESSAGE = 'The service is overloaded right now. Please retry after the Retry-After seconds.'

// Answered whatever the load. Liveness must not fail because the process is busy (an orchestrator
// would restart a process that is only busy, making the overload worse); /health keeps its
// contract; the metrics are what an operator needs most during an overload.
// /health/ready is not among them: an overloaded process is not ready for more traffic.
const ALWAYS_ANSWERED = new Set(['/health/live', '/health', '/metrics'])

/**
 * Load shedding (@fastify/under-pressure): while the event loop lags by more than
 * PRESSURE_MAX_EVENT_LOOP_DELAY_MS or the process's RSS is above PRESSURE_MAX_RSS_BYTES,
 * requests are answered 503 with Retry-After and the API's `{ "message": ... }` before any work
 * (or body read) is done, instead of queueing until every client times out or memory runs out.
 * Nothing about the process's state is exposed in the answer; the metrics count it by kind.
 */
export default fp(async (fastify) => {
  const { maxEventLoopDelayMs, maxRssBytes } = fastify.config.server.pressure
  // The body is returned for under-pressure to send; its types only allow void.
  const pressureHandler = ((request, reply, kind) => {
    if (ALWAYS_ANSWERED.has(request.routeOptions.url ?? '')) return undefined
    fastify.metrics.shed(kind)
    request.failureReason = `overloaded (${kind})`
    reply.code(503).header('retry-after', String(OVERLOADED_RETRY_AFTER_SECONDS))
    return { message: OVERLOADED_MESSAGE }
  }) as NonNullable<FastifyUnderPressureOptions['pressureHandler']>
  await fastify.register(underPressure, {
    maxEventLoopDelay: maxEventLoopDelayMs,
    maxRssBytes,
    pressureHandler
  })
}, { name: 'load-shedding', dependencies: ['config', 'metrics', 'request-log'] })
