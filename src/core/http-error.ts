// Expected errors carry their status code and a message a person can act on. The root error
// handler (plugins/error-handler.ts) turns them, and Fastify's own 4xx errors, into
// `{ "message": ... }`; anything else is logged and answered without internals.
export class HttpError extends Error {
  override name = 'HttpError'
  readonly statusCode: number
  readonly headers: Record<string, string>

  constructor (statusCode: number, message: string, headers: Record<string, string> = {}) {
    super(message)
    this.statusCode = statusCode
    this.headers = headers
  }
}

export const badRequest = (message: string): HttpError => new HttpError(400, message)
export const tooLarge = (message: string): HttpError => new HttpError(413, message)
export const unsupportedMediaType = (message: string): HttpError => new HttpError(415, message)

/** A dependency (Redis, MongoDB) is down: nothing was accepted, the client may retry soon. */
export const unavailable = (message: string): HttpError => new HttpError(503, message, { 'retry-after': '5' })
