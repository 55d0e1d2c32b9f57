// autocannon driving POST /api/upload/ with one image per request. Each request gets its own
// file name (and a phone number from a pool) so every upload is a distinct file to store; the
// image bytes are the same for every request and every target.
import autocannon, { type Result } from 'autocannon'
import { MULTIPART_HEADERS, uploadBody } from './uploads.ts'

export interface LoadOptions {
  url: string
  connections: number
  /** Fixed number of requests (exact record counts can then be checked)... */
  amount?: number
  /** ...or a fixed duration in seconds (warm-ups). */
  seconds?: number
  image: Buffer
  phones: string[]
  /** File names are `<namePrefix>-<n>.png`. */
  namePrefix: string
}

export interface LoadResult {
  requests: number
  seconds: number
  rps: number
  latencyMs: { mean: number, p50: number, p90: number, p99: number, max: number }
  ok: number
  non2xx: number
  errors: number
  timeouts: number
  statusCodes: Record<string, number>
}

export async function runLoad (options: LoadOptions): Promise<LoadResult> {
  let n = 0
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    ...(options.amount ? { amount: options.amount } : { duration: options.seconds ?? 10 }),
    timeout: 120,
    requests: [{
      method: 'POST',
      path: '/api/upload/',
      headers: MULTIPART_HEADERS,
      setupRequest: request => {
        const i = n++
        return { ...request, body: uploadBody(options.phones[i % options.phones.length]!, `${options.namePrefix}-${i}.png`, options.image) }
      }
    }]
  })
  const result: Result = await instance
  const completed = result['2xx'] + result.non2xx
  return {
    requests: completed,
    seconds: result.duration,
    rps: completed / result.duration,
    latencyMs: { mean: result.latency.mean, p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]))
  }
}
