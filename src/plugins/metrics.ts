import { opendir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Queue } from 'bullmq'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { closeWithin } from '../queue/redis.ts'
import { DROPBOX_SYNC_QUEUE } from '../queue/dropbox-sync-jobs.ts'
import { VARIANT_QUEUE } from '../queue/variant-jobs.ts'
import { createRegistry, PREFIX, storageMetrics, type StorageMetrics } from '../runtime/metrics.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The API process's Prometheus metrics, served at /metrics (http/routes/metrics.ts). */
    metrics: ApiMetrics
  }
}

export interface ApiMetrics {
  registry: Registry
  storage: StorageMetrics
  /** An upload route queued `files` files of `bytes` bytes in all. */
  accepted: (files: number, bytes: number) => void
  /** A request refused because the process is overloaded (http/plugins/load-shedding.ts). */
  shed: (kind: string) => void
}

// The routes that receive image bytes: their refusals are counted as rejected uploads.
const UPLOAD_ROUTES = new Set(['POST /api/upload/', 'POST /api/tus/', 'PATCH /api/tus/:upload_id'])
const REJECTIONS = new Map<number, string>([
  [400, 'invalid'], [401, 'unauthorized'], [403, 'unauthorized'], [404, 'not_found'], [408, 'timeout'], [409, 'conflict'], [410, 'gone'],
  [413, 'too_large'], [415, 'not_an_image'], [422, 'unprocessable'], [423, 'locked'], [429, 'rate_limited'], [503, 'unavailable']
])
// Scrapes come every 15 s or so: the staging directory is walked at most this often, and no
// further than this many entries, so a backlog of files cannot make a scrape expensive.
const STAGING_SCAN_TTL_MS = 10_000
const STAGING_SCAN_MAX_ENTRIES = 20_000
const QUEUE_COUNT_TIMEOUT_MS = 2000
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const

/**
 * Prometheus metrics of the API process: request durations by route pattern and status, uploads
 * accepted and rejected (files, bytes, reasons), storage calls (plugins/storage.ts times them),
 * and, read when scraped, the queues' job counts and the bytes waiting in the staging area.
 * Registered first, so that its hooks see every request, even one refused by a later hook.
 */
export default fp(async (fastify) => {
  const registry = createRegistry()
  const duration = new Histogram({
    name: `${PREFIX}http_request_duration_seconds`,
    help: 'HTTP requests by method, route pattern and status code ("aborted": the connection ended before the answer).',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers: [registry]
  })
  const filesAccepted = new Counter({ name: `${PREFIX}files_accepted_total`, help: 'Image files accepted (staged and queued) by the upload routes.', registers: [registry] })
  const bytesAccepted = new Counter({ name: `${PREFIX}accepted_bytes_total`, help: 'Bytes of the image files accepted by the upload routes.', registers: [registry] })
  const rejected = new Counter({
    name: `${PREFIX}uploads_rejected_total`,
    help: 'Upload requests refused (4xx, 503) or cut off (aborted), by reason.',
    labelNames: ['reason'] as const,
    registers: [registry]
  })
  const rejectedBytes = new Counter({
    name: `${PREFIX}rejected_bytes_total`,
    help: 'Bytes read from upload requests that were then refused or cut off, by reason.',
    labelNames: ['reason'] as const,
    registers: [registry]
  })
  const shed = new Counter({
    name: `${PREFIX}load_shed_total`,
    help: 'Requests answered 503 because the process was overloaded, by what was over its limit (eventLoopDelay, rssBytes).',
    labelNames: ['kind'] as const,
    registers: [registry]
  })
  collectQueueCounts(fastify, registry)
  collectStagedBytes(fastify, registry)

  fastify.decorate('metrics', {
    registry,
    storage: storageMetrics(registry),
    accepted: (files: number, bytes: number) => {
      filesAccepted.inc(files)
      bytesAccepted.inc(bytes)
    },
    shed: (kind: string) => { shed.inc({ kind }) }
  })

  // On the raw response's close rather than onResponse: hijacked replies (tus) and connections
  // cut before the answer count too.
  fastify.addHook('onRequest', (request, reply, done) => {
    const started = performance.now()
    const socket = request.raw.socket as { bytesRead?: number } | undefined
    const bytesBefore = socket?.bytesRead ?? 0
    reply.raw.once('close', () => {
      const route = request.routeOptions.url ?? 'unmatched'
      // Answered: the response was ended (by Fastify, tus or Node), whether or not it all reached the client.
      const answered = reply.raw.writableEnded
      const status = reply.raw.statusCode
      duration.observe({ method: request.method, route, status_code: answered ? String(status) : 'aborted' }, (performance.now() - started) / 1000)
      if (!UPLOAD_ROUTES.has(`${request.method} ${route}`)) return
      const reason = !answered ? 'aborted' : status >= 400 && status < 500 ? REJECTIONS.get(status) ?? 'client_error' : status === 503 ? 'unavailable' : undefined
      if (reason === undefined) return
      rejected.inc({ reason })
      rejectedBytes.inc({ reason }, Math.max(0, (socket?.bytesRead ?? bytesBefore) - bytesBefore))
    })
    done()
  })
  fastify.addHook('onClose', async () => { registry.clear() })
}, { name: 'metrics', dependencies: ['config'] })

/** Jobs waiting, active, delayed and failed in each queue, read from Redis when scraped. */
function collectQueueCounts (fastify: FastifyInstance, registry: Registry): void {
  let others: Queue[] | undefined
  const queues = (): Queue[] => {
    const { uploadQueue, config } = fastify
    // The other queues' producers live elsewhere; these handles only count, on the API's connection.
    others ??= [VARIANT_QUEUE, ...(config.dropbox && config.dropbox.syncIntervalMs > 0 ? [DROPBOX_SYNC_QUEUE] : [])]
      .map(name => new Queue(name, { connection: uploadQueue.redis, prefix: config.queuePrefix }))
    return [uploadQueue.queue as Queue, ...others]
  }
  // eslint-disable-next-line no-new
  new Gauge({
    name: `${PREFIX}queue_jobs`,
    help: 'Jobs per queue and state (waiting, active, delayed, failed), read when scraped.',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect () {
      this.reset()
      if (!fastify.hasDecorator('uploadQueue')) return
      const counting = Promise.all(queues().map(async queue => [queue.name, await queue.getJobCounts(...QUEUE_STATES)] as const))
      // Redis down: the scrape still answers (the other metrics), without queue figures.
      const counts = await Promise.race([counting, new Promise<undefined>(resolve => setTimeout(() => resolve(undefined), QUEUE_COUNT_TIMEOUT_MS).unref())]).catch(() => undefined)
      for (const [queue, byState] of counts ?? []) {
        for (const state of QUEUE_STATES) this.set({ queue, state }, byState[state] ?? 0)
      }
    }
  })
  fastify.addHook('onClose', async () => {
    if (others) await closeWithin(1000, () => Promise.all(others!.map(q => q.close())))
  })
}

/** Bytes and files in the staging area (uploads not yet stored, resumable uploads in progress). */
function collectStagedBytes (fastify: FastifyInstance, registry: Registry): void {
  let last: { at: number, bytes: number, files: number } | undefined
  let scanning: Promise<{ at: number, bytes: number, files: number }> | undefined
  const scan = async (): Promise<{ at: number, bytes: number, files: number }> => {
    if (last && Date.now() - last.at < STAGING_SCAN_TTL_MS) return last
    scanning ??= walk(fastify.config.stagingDir).finally(() => { scanning = undefined })
    last = await scanning
    return last
  }
  // eslint-disable-next-line no-new
  new Gauge({
    name: `${PREFIX}staged_bytes`,
    help: `Bytes in the staging directory (at most ${STAGING_SCAN_MAX_ENTRIES} entries counted, refreshed at most every ${STAGING_SCAN_TTL_MS / 1000} s).`,
    registers: [registry],
    async collect () { this.set((await scan().catch(() => undefined))?.bytes ?? 0) }
  })
  // eslint-disable-next-line no-new
  new Gauge({
    name: `${PREFIX}staged_files`,
    help: 'Files in the staging directory (same scan as staged_bytes).',
    registers: [registry],
    async collect () { this.set((await scan().catch(() => undefined))?.files ?? 0) }
  })
}

/** The staging directory and its subdirectories (resumable uploads), up to the entry bound. */
async function walk (root: string): Promise<{ at: number, bytes: number, files: number }> {
  let bytes = 0
  let files = 0
  let entries = 0
  const pending = [root]
  while (pending.length > 0 && entries < STAGING_SCAN_MAX_ENTRIES) {
    const dir = await opendir(pending.pop()!).catch(() => undefined)
    if (!dir) continue
    for await (const entry of dir) {
      if (++entries > STAGING_SCAN_MAX_ENTRIES) break
      const path = join(dir.path, entry.name)
      if (entry.isDirectory()) {
        pending.push(path)
      } else if (entry.isFile()) {
        const { size } = await stat(path).catch(() => ({ size: 0 }))
        bytes += size
        files++
      }
    }
  }
  return { at: Date.now(), bytes, files }
}
