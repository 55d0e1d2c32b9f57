import type { IncomingMessage } from 'node:http'
import type { RouteStyle } from './api-call.ts'
import { BadArgument } from './arg-schema.ts'
import { BodyTooLarge, contentTypeOf, mediaType, readBody } from './http-io.ts'
import { MiB } from './options.ts'

// Where a /2/ call's argument comes from, and the 400s Dropbox gives when it is badly sent.

export interface RawArgument {
  value: unknown
  source: string // how the 400 text names the argument's location
}

const CORS_HACK = 'text/plain; charset=dropbox-cors-hack'
const RPC_BODY_LIMIT = 16 * MiB

export async function readArgument (req: IncomingMessage, style: RouteStyle, url: URL): Promise<RawArgument> {
  if (style === 'rpc') return readJsonBody(req)
  if (style === 'upload') checkContentType(req, ['application/octet-stream'])
  return readHeaderArgument(req, url)
}

function checkContentType (req: IncomingMessage, accepted: string[]): void {
  const contentType = contentTypeOf(req)
  if (contentType === '') throw new BadArgument('Missing or empty HTTP "Content-Type" header.')
  if (contentType === CORS_HACK || accepted.includes(mediaType(contentType))) return
  const expected = [...accepted, CORS_HACK].map((type) => `"${type}"`).join(', ')
  throw new BadArgument(`Bad HTTP "Content-Type" header: "${contentType}".  Expecting one of ${expected}.`)
}

async function readJsonBody (req: IncomingMessage): Promise<RawArgument> {
  // A route without an argument (users/get_current_account) is called with no body and no
  // Content-Type at all, as the SDK does: its argument is null.
  const untyped = contentTypeOf(req) === ''
  if (!untyped) checkContentType(req, ['application/json'])
  const source = 'request body'
  let body: Buffer
  try {
    body = await readBody(req, RPC_BODY_LIMIT)
  } catch (error) {
    if (error instanceof BodyTooLarge) throw new BadArgument(`${source}: ${error.message}`)
    throw error
  }
  if (body.length === 0) return { value: null, source }
  if (untyped) checkContentType(req, ['application/json'])
  return { value: parseJson(body.toString('utf8'), source), source }
}

// The header must be ASCII: clients write U+007F and above as \uXXXX. Node hands header bytes
// over as latin1, so any raw byte >= 0x7F shows up as a character >= U+007F.
function readHeaderArgument (req: IncomingMessage, url: URL): RawArgument {
  const header = req.headers['dropbox-api-arg']
  if (typeof header === 'string') {
    const source = 'HTTP header "Dropbox-API-Arg"'
    if (/[^\u0000-\u007e]/.test(header)) throw new BadArgument(`${source}: could not decode input as JSON`) // eslint-disable-line no-control-regex
    return { value: parseJson(header, source), source }
  }
  const param = url.searchParams.get('arg')
  if (param !== null) return { value: parseJson(param, 'URL parameter "arg"'), source: 'URL parameter "arg"' }
  throw new BadArgument('Must provide HTTP header "Dropbox-API-Arg" or URL parameter "arg".')
}

function parseJson (text: string, source: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw new BadArgument(`${source}: could not decode input as JSON`)
  }
}
