import { open } from 'node:fs/promises'
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { pipeline } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { envelope, rateLimitBody, type Tagged } from './dropbox-errors.ts'
import type { EmulatorState } from './emulator-state.ts'
import { drain, sendJson, sendText } from './http-io.ts'

export type RouteStyle = 'rpc' | 'upload' | 'download'

export interface ApiRoute<A = unknown> {
  style: RouteStyle
  commit: boolean // takes the namespace lock (writeContention) for the whole call
  parse: (raw: unknown) => A
  handle: (call: ApiCall, arg: A) => Promise<void>
}

export function apiRoute<A> (route: ApiRoute<A>): ApiRoute {
  return route as unknown as ApiRoute
}

// One /2/ call. Every reply goes through #ready(): the unread body is drained and the latency
// fault is served before a byte of the answer, so a commit holds its lock through the latency.
export class ApiCall {
  readonly state: EmulatorState
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly route: string
  readonly #latencyMs: number

  constructor (state: EmulatorState, req: IncomingMessage, res: ServerResponse, route: string) {
    this.state = state
    this.req = req
    this.res = res
    this.route = route
    this.#latencyMs = state.faults.latencyMs
  }

  async #ready (): Promise<void> {
    await drain(this.req)
    if (this.#latencyMs > 0) await sleep(this.#latencyMs)
  }

  async json (body: unknown, headers: OutgoingHttpHeaders = {}): Promise<void> {
    await this.#ready()
    sendJson(this.res, 200, body, headers)
  }

  // 409: the route's own error union.
  async endpointError (error: Tagged): Promise<void> {
    await this.#ready()
    sendJson(this.res, 409, envelope(error))
  }

  async authError (tag: 'invalid_access_token' | 'expired_access_token'): Promise<void> {
    await this.#ready()
    sendJson(this.res, 401, envelope({ '.tag': tag }), { 'WWW-Authenticate': 'Bearer' })
  }

  // 400 in Dropbox's words: plain text naming the route.
  async badRequest (message: string): Promise<void> {
    await this.text(400, `Error in call to API function "${this.route}": ${message}`)
  }

  async text (status: number, text: string, headers: OutgoingHttpHeaders = {}): Promise<void> {
    await this.#ready()
    sendText(this.res, status, text, headers)
  }

  async rateLimited (reason: 'too_many_requests' | 'too_many_write_operations', retryAfter: number): Promise<void> {
    await this.#ready()
    sendJson(this.res, 429, rateLimitBody(reason, retryAfter), { 'Retry-After': String(retryAfter) })
  }

  // Opened before the latency wait, so an overwrite meanwhile cannot pull the bytes away. With a
  // range (a Range header on a content-download route), 206 and that part only.
  async file (path: string, size: number, headers: OutgoingHttpHeaders, range?: { start: number, end: number }): Promise<void> {
    const handle = await open(path)
    try {
      await this.#ready()
      if (range) {
        this.res.writeHead(206, { ...headers, 'Content-Length': range.end - range.start + 1, 'Content-Range': `bytes ${range.start}-${range.end}/${size}` })
        await pipeline(handle.createReadStream({ autoClose: false, start: range.start, end: range.end }), this.res)
      } else {
        this.res.writeHead(200, { ...headers, 'Content-Length': size })
        await pipeline(handle.createReadStream({ autoClose: false }), this.res)
      }
    } finally {
      await handle.close()
    }
  }
}
