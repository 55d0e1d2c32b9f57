// Hostile input over real sockets (issue 11): a listening app and an upload worker in this
// process, and several hundred requests written byte by byte with node:net: broken and truncated
// multipart, lying lengths, endless bodies, thousands of parts, huge headers, hostile file names
// and phone numbers, path traversal, tus headers out of order. No answer may be a 5xx, each
// request ends (answered, or cut off by the server or by the client's bound) in bounded time,
// nothing stays staged or queued, and the same app instance answers healthy afterwards.
import { randomBytes } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { waitFor } from '../../scripts/lib/wait-for.ts'
import { utf8Length } from '../../src/core/file-name.ts'
import { build, startWorker } from '../helpers/build.ts'
import { testEnv } from '../helpers/config.ts'
import { randomPng } from '../helpers/images.ts'

interface Outcome {
  label: string
  /** The status of the (first final) answer, when there was one. */
  status?: number
  /** Who ended the exchange: the server (answered, closed, reset) or the client at its bound. */
  endedBy: 'server' | 'client'
  ms: number
  head: string
  body: string
}

interface Case {
  label: string
  /** Sent at once; or `write` streams whatever it likes. */
  bytes?: Buffer | string
  write?: (socket: Socket, answered: () => boolean) => Promise<void>
  /** The client gives up after this long (the server should have answered or cut off well before). */
  boundMs?: number
  /** Deliberately endless: the client's cut-off is an acceptable end. */
  endless?: boolean
  /** Checks beyond "no 5xx": returns what is wrong, if anything. */
  check?: (outcome: Outcome) => string | undefined
}

const PNG = randomPng(3000)
const CRLF = '\r\n'

/** The first final status line of what the server sent, and whether the answer is complete. */
function parseAnswer (raw: Buffer): { status?: number, complete: boolean, head: string, body: string } {
  let text = raw.toString('latin1')
  while (/^HTTP\/1\.1 1\d\d /.test(text) && text.includes('\r\n\r\n')) text = text.slice(text.indexOf('\r\n\r\n') + 4)
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1]
  const end = text.indexOf('\r\n\r\n')
  if (status === undefined || end < 0) return { status: status === undefined ? undefined : Number(status), complete: false, head: '', body: '' }
  const head = text.slice(0, end)
  const body = text.slice(end + 4)
  const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1]
  const complete = length !== undefined ? Buffer.byteLength(body, 'latin1') >= Number(length) : /\r\ntransfer-encoding: *chunked/i.test(head) ? body.endsWith('0\r\n\r\n') : false
  return { status: Number(status), complete, head, body: Buffer.from(body, 'latin1').toString('utf8') }
}

/** One exchange on a fresh connection: ends when the answer is complete, the server closes, or the bound passes. */
function exchange (port: number, c: Case): Promise<Outcome> {
  return new Promise(resolve => {
    const started = performance.now()
    const socket = connect(port, '127.0.0.1')
    let received = Buffer.alloc(0)
    let done = false
    const finish = (endedBy: Outcome['endedBy']): void => {
      if (done) return
      done = true
      clearTimeout(bound)
      socket.destroy()
      const answer = parseAnswer(received)
      resolve({ label: c.label, status: answer.status, endedBy, ms: Math.round(performance.now() - started), head: answer.head, body: answer.body })
    }
    // The client's bound on one exchange: a cut-off, not a wait for some state.
    const bound = setTimeout(() => finish('client'), c.boundMs ?? 10_000)
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      if (parseAnswer(received).complete) finish('server')
    })
    socket.on('close', () => finish('server'))
    socket.on('error', () => {}) // EPIPE / ECONNRESET once the server has cut the connection
    socket.on('connect', () => {
      const answered = (): boolean => done || parseAnswer(received).status !== undefined
      const sending = c.write ? c.write(socket, answered) : new Promise<void>(resolve => socket.write(c.bytes ?? '', () => resolve()))
      sending.catch(() => {})
    })
  })
}

async function runAll (port: number, cases: Case[], parallel: number): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(cases.length)
  let next = 0
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < cases.length) {
      const i = next++
      outcomes[i] = await exchange(port, cases[i]!)
    }
  }))
  return outcomes
}

// ---------------------------------------------------------------------------------------------
// Request builders

function request (method: string, path: string, headers: Array<[string, string]>, body: Buffer | string = ''): Buffer {
  const head = [`${method} ${path} HTTP/1.1`, 'Host: localhost', ...headers.map(([k, v]) => `${k}: ${v}`)].join(CRLF)
  return Buffer.concat([Buffer.from(head + CRLF + CRLF, 'utf8'), Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8')])
}

/** A POST to the upload route with this multipart body, Content-Length true unless given. */
function upload (body: Buffer, options: { boundary?: string, contentLength?: string, extra?: Array<[string, string]>, contentType?: string } = {}): Buffer {
  const contentType = options.contentType ?? `multipart/form-data; boundary=${options.boundary ?? 'fuzz'}`
  return request('POST', '/api/upload/', [
    ['Content-Type', contentType], ['Content-Length', options.contentLength ?? String(body.length)], ['Connection', 'close'], ...options.extra ?? []
  ], body)
}

function field (name: string, value: string | Buffer, boundary = 'fuzz', extraHeaders = ''): Buffer {
  return Buffer.concat([Buffer.from(`--${boundary}${CRLF}Content-Disposition: form-data; name="${name}"${CRLF}${extraHeaders}${CRLF}`, 'utf8'), Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8'), Buffer.from(CRLF)])
}

function file (filename: string, content: Buffer, boundary = 'fuzz', name = 'images'): Buffer {
  return Buffer.concat([Buffer.from(`--${boundary}${CRLF}Content-Disposition: form-data; name="${name}"; filename="${filename}"${CRLF}Content-Type: image/png${CRLF}${CRLF}`, 'utf8'), content, Buffer.from(CRLF)])
}

const close = (boundary = 'fuzz'): Buffer => Buffer.from(`--${boundary}--${CRLF}`)
const form = (...parts: Buffer[]): Buffer => Buffer.concat([...parts, close()])
const get = (path: string, headers: Array<[string, string]> = []): Buffer => request('GET', path, [['Connection', 'close'], ...headers])

/** Until the socket takes more, or is gone. */
function drained (socket: Socket): Promise<void> {
  return new Promise(resolve => {
    const done = (): void => {
      socket.off('drain', done)
      socket.off('close', done)
      resolve()
    }
    socket.on('drain', done)
    socket.on('close', done)
  })
}

/** Streams chunked data until the server answers or cuts the connection, or the client's budget ends. */
function endlessChunked (head: Buffer, budget: { ms: number, bytes: number }, chunk: () => Buffer): Case['write'] {
  return async (socket, answered) => {
    socket.write(head)
    const started = performance.now()
    let sent = 0
    while (!answered() && !socket.destroyed && performance.now() - started < budget.ms && sent < budget.bytes) {
      const piece = chunk()
      const frame = Buffer.concat([Buffer.from(`${piece.length.toString(16)}${CRLF}`), piece, Buffer.from(CRLF)])
      sent += frame.length
      if (!socket.write(frame)) await drained(socket)
    }
    // The bound: the client gives up (Case.endless), or leaves the server to cut it off.
  }
}

// ---------------------------------------------------------------------------------------------
// The cases

function multipartCases (): Case[] {
  const cases: Case[] = []
  const whole = form(field('phone_number', '5551234'), file('a.png', PNG))
  // Truncated at many points, the length telling the truth about what was sent: a 400.
  for (let i = 1; i <= 100; i++) {
    const at = Math.floor(whole.length * i / 101)
    cases.push({ label: `truncated multipart at ${at}`, bytes: upload(whole.subarray(0, at)) })
  }
  // Truncated, the length promising the whole body: the server waits, then cuts the stalled body off.
  for (const at of [10, 120, 400, 2000]) {
    cases.push({ label: `truncated body, lying length, stalled at ${at}`, bytes: upload(whole.subarray(0, at), { contentLength: String(whole.length) }), check: serverEnded })
  }
  const broken: Array<[string, Buffer, string?]> = [
    ['no boundary parameter', whole, 'multipart/form-data'],
    ['empty boundary', whole, 'multipart/form-data; boundary='],
    ['boundary of 200 characters', whole, `multipart/form-data; boundary=${'b'.repeat(200)}`],
    ['other boundary than the body\'s', whole, 'multipart/form-data; boundary=other'],
    ['quoted boundary with spaces', whole, 'multipart/form-data; boundary="fu zz"'],
    ['a 10 KB content type', whole, `multipart/form-data; boundary=fuzz; ${'x'.repeat(10_000)}=1`],
    ['multipart/mixed', whole, 'multipart/mixed; boundary=fuzz'],
    ['garbage preamble only', randomBytes(5000)],
    ['part without headers', Buffer.from(`--fuzz${CRLF}${CRLF}hello${CRLF}--fuzz--${CRLF}`)],
    ['part without Content-Disposition', Buffer.from(`--fuzz${CRLF}Content-Type: image/png${CRLF}${CRLF}hello${CRLF}--fuzz--${CRLF}`)],
    ['header line without CRLF', Buffer.from(`--fuzz${CRLF}Content-Disposition: form-data; name="phone_number"\n\n123${CRLF}--fuzz--${CRLF}`)],
    ['bare LF everywhere', Buffer.from(whole.toString('latin1').replaceAll('\r\n', '\n'), 'latin1')],
    ['nested multipart', form(field('phone_number', '5551234'), Buffer.from(`--fuzz${CRLF}Content-Disposition: form-data; name="images"${CRLF}Content-Type: multipart/mixed; boundary=inner${CRLF}${CRLF}--inner${CRLF}${CRLF}x${CRLF}--inner--${CRLF}${CRLF}`))],
    ['phone number as a file', form(file('phone.txt', Buffer.from('5551234'), 'fuzz', 'phone_number'), file('a.png', PNG))],
    ['image as a field', form(field('phone_number', '5551234'), field('images', PNG))],
    ['file not an image', form(field('phone_number', '5551234'), file('a.png', randomBytes(3000)))],
    ['empty file', form(field('phone_number', '5551234'), file('a.png', Buffer.alloc(0)))],
    ['base64 transfer encoding', form(field('phone_number', '5551234'), Buffer.concat([Buffer.from(`--fuzz${CRLF}Content-Disposition: form-data; name="images"; filename="a.png"${CRLF}Content-Transfer-Encoding: base64${CRLF}${CRLF}`), Buffer.from(PNG.toString('base64')), Buffer.from(CRLF)]))],
    ['part header of 20 KB', form(field('phone_number', '5551234', 'fuzz', `X-Junk: ${'j'.repeat(20_000)}${CRLF}`), file('a.png', PNG))],
    ['1,000 header lines in a part', form(field('phone_number', '5551234', 'fuzz', `X-Junk: j${CRLF}`.repeat(1000)), file('a.png', PNG))],
    ['close delimiter first', Buffer.concat([close(), field('phone_number', '5551234'), file('a.png', PNG)])],
    ['no close delimiter', Buffer.concat([field('phone_number', '5551234'), file('a.png', PNG)])],
    ['epilogue of 100 KB', Buffer.concat([form(field('phone_number', '5551234'), file('a.png', PNG)), randomBytes(100_000)])],
    ['NUL bytes in headers', form(Buffer.from(`--fuzz${CRLF}Content-Disposition: form-data; name="phone\u0000_number"${CRLF}${CRLF}5551234${CRLF}`), file('a.png', PNG))],
    ['field sent as invalid JSON', form(field('phone_number', '{"$gt":', 'fuzz', `Content-Type: application/json${CRLF}`), file('a.png', PNG))],
    ['field sent as JSON object', form(field('phone_number', '{"$gt":""}', 'fuzz', `Content-Type: application/json${CRLF}`), file('a.png', PNG))]
  ]
  for (const [label, body, contentType] of broken) cases.push({ label, bytes: upload(body, { contentType }) })
  // Random damage: a valid upload with bytes flipped here and there.
  for (let i = 0; i < 40; i++) {
    const damaged = Buffer.from(whole)
    for (let n = 0; n <= i % 5; n++) {
      const at = Math.floor(Math.random() * damaged.length)
      damaged[at] = damaged[at]! ^ (1 + Math.floor(Math.random() * 255))
    }
    cases.push({ label: `damaged upload ${i}`, bytes: upload(damaged) })
  }
  // Thousands of parts: refused at the parts limit long before the end.
  const manyFields = Buffer.concat([...Array.from({ length: 10_000 }, (_, i) => field(`f${i}`, 'x')), close()])
  cases.push({ label: '10,000 field parts', bytes: upload(manyFields) })
  const manyFiles = Buffer.concat([field('phone_number', '5551234'), ...Array.from({ length: 10_000 }, (_, i) => file(`${i}.png`, Buffer.from('x'))), close()])
  cases.push({ label: '10,000 file parts', bytes: upload(manyFiles) })
  const manyImages = Buffer.concat([field('phone_number', '5551234'), ...Array.from({ length: 200 }, (_, i) => file(`${i}.png`, PNG.subarray(0, 100))), close()])
  cases.push({ label: '200 image parts', bytes: upload(manyImages) })
  return cases
}

function lengthCases (): Case[] {
  const body = form(field('phone_number', '5551234'), file('a.png', PNG))
  const cases: Case[] = []
  for (const length of ['-1', 'abc', '1e3', '0x10', ' 12', '99999999999999999999', '1.5', '', '+5']) {
    cases.push({ label: `Content-Length '${length}'`, bytes: upload(body, { contentLength: length }) })
  }
  cases.push({ label: 'Content-Length shorter than the body (the rest is a garbage request)', bytes: upload(body, { contentLength: String(body.length - 500) }) })
  cases.push({ label: 'Content-Length of 0 with a body', bytes: upload(body, { contentLength: '0' }) })
  cases.push({ label: 'two different Content-Lengths', bytes: upload(body, { extra: [['Content-Length', '5']] }) })
  cases.push({ label: 'Content-Length and chunked together', bytes: upload(body, { extra: [['Transfer-Encoding', 'chunked']] }) })
  cases.push({ label: 'Content-Length of 10 GB, 3 KB sent', bytes: upload(body, { contentLength: String(10 * 1024 ** 3) }), check: serverEnded })
  for (const te of ['gzip, chunked', 'chunked, gzip', 'identity', 'xchunked', 'chunked\u000b']) {
    cases.push({ label: `Transfer-Encoding '${te}'`, bytes: request('POST', '/api/upload/', [['Content-Type', 'multipart/form-data; boundary=fuzz'], ['Transfer-Encoding', te], ['Connection', 'close']], `5${CRLF}hello${CRLF}0${CRLF}${CRLF}`) })
  }
  const chunkedHead = request('POST', '/api/upload/', [['Content-Type', 'multipart/form-data; boundary=fuzz'], ['Transfer-Encoding', 'chunked'], ['Connection', 'close']])
  for (const frame of ['ffffffffffffffffff\r\nx\r\n', 'zz\r\nx\r\n', '5;ext="' + 'e'.repeat(10_000) + '"\r\nhello\r\n0\r\n\r\n', '5\r\nhelloXX0\r\n\r\n', '-5\r\nhello\r\n', '0\r\nTrailer: ' + 't'.repeat(20_000) + '\r\n\r\n']) {
    cases.push({ label: `chunk framing ${JSON.stringify(frame.slice(0, 24))}`, bytes: Buffer.concat([chunkedHead, Buffer.from(frame)]) })
  }
  cases.push({ label: 'Expect: 100-continue, then nothing', bytes: upload(Buffer.alloc(0), { contentLength: '5000', extra: [['Expect', '100-continue']] }), check: serverEnded })
  cases.push({ label: 'unknown Expect', bytes: upload(body, { extra: [['Expect', 'teapot']] }) })
  return cases
}

function endlessCases (): Case[] {
  const cases: Case[] = []
  const budget = { ms: 1500, bytes: 8 * 1024 * 1024 }
  const chunked = (path: string, method = 'POST', contentType = 'multipart/form-data; boundary=fuzz'): Buffer =>
    request(method, path, [['Content-Type', contentType], ['Transfer-Encoding', 'chunked'], ['Connection', 'close']])
  const targets: Array<[string, Buffer, () => Buffer]> = [
    ['endless garbage preamble to the upload route', chunked('/api/upload/'), () => randomBytes(16_384)],
    ['endless field value', chunked('/api/upload/'), (() => { let first = true; return () => { const b = first ? Buffer.concat([Buffer.from(`--fuzz${CRLF}Content-Disposition: form-data; name="phone_number"${CRLF}${CRLF}`), Buffer.alloc(16_000, 0x31)]) : Buffer.alloc(16_384, 0x31); first = false; return b } })()],
    ['endless image', chunked('/api/upload/'), (() => { let first = true; return () => { const b = first ? Buffer.concat([field('phone_number', '5551234'), Buffer.from(`--fuzz${CRLF}Content-Disposition: form-data; name="images"; filename="a.png"${CRLF}${CRLF}`), PNG]) : randomBytes(16_384); first = false; return b } })()],
    ['endless epilogue', chunked('/api/upload/'), (() => { let first = true; return () => { const b = first ? form(field('phone_number', '5551234'), file('a.png', PNG)) : randomBytes(16_384); first = false; return b } })()],
    ['endless JSON to the lookup', chunked('/api/get-phone/?phone_number=1', 'GET', 'application/json'), () => Buffer.alloc(16_384, 0x20)],
    ['endless body to an unknown route', chunked('/nowhere'), () => randomBytes(16_384)],
    ['endless body to /health', chunked('/health', 'GET'), () => randomBytes(16_384)],
    ['endless form to the admin login', chunked('/admin/login', 'POST', 'application/x-www-form-urlencoded'), () => Buffer.alloc(16_384, 0x61)],
    ['endless PATCH to tus', chunked('/api/tus/6761a2f5c3b1e24d8f0a9b7c', 'PATCH', 'application/offset+octet-stream'), () => randomBytes(16_384)]
  ]
  for (const [label, head, chunk] of targets) cases.push({ label, write: endlessChunked(head, budget, chunk), endless: true, boundMs: 4000 })
  // Two left running past the client's patience: the server's whole-request bound ends them.
  cases.push({ label: 'endless preamble until the server cuts it off', write: endlessChunked(chunked('/api/upload/'), { ms: 20_000, bytes: 1024 ** 3 }, () => randomBytes(4096)), boundMs: 12_000, check: serverEnded })
  cases.push({
    label: 'endless trickle of a field until the server cuts it off',
    write: async (socket, answered) => {
      const start = `--fuzz${CRLF}Content-D`
      socket.write(Buffer.concat([chunked('/api/upload/'), Buffer.from(`${start.length.toString(16)}${CRLF}${start}${CRLF}`)]))
      // A byte every 200 ms: never idle long enough for the idle cut-off, so the request bound ends it.
      while (!answered() && !socket.destroyed) {
        socket.write(`1${CRLF}x${CRLF}`)
        await new Promise(resolve => setTimeout(resolve, 200))
      }
    },
    boundMs: 12_000,
    check: serverEnded
  })
  // Stalled before the headers are complete (slowloris): the headers timeout ends it.
  cases.push({ label: 'headers never finished', bytes: `POST /api/upload/ HTTP/1.1${CRLF}Host: localhost${CRLF}X-Slow: `, boundMs: 12_000, check: serverEnded })
  cases.push({ label: 'connection opened, nothing sent', bytes: '', boundMs: 12_000, check: serverEnded })
  return cases
}

function headerCases (): Case[] {
  const cases: Case[] = []
  for (const size of [8_000, 17_000, 100_000]) cases.push({ label: `one header of ${size} bytes`, bytes: get('/health/live', [['X-Big', 'h'.repeat(size)]]) })
  cases.push({ label: '2,000 headers', bytes: get('/health/live', Array.from({ length: 2000 }, (_, i): [string, string] => [`X-H${i}`, 'v'])) })
  cases.push({ label: 'request line of 20 KB', bytes: get(`/api/get-phone/?phone_number=${'1'.repeat(20_000)}`) })
  cases.push({ label: 'NUL in a header value', bytes: get('/health/live', [['X-Nul', 'a\u0000b']]) })
  cases.push({ label: 'CR alone in a header value', bytes: get('/health/live', [['X-Cr', 'a\rb']]) })
  cases.push({ label: 'header name with a space', bytes: get('/health/live', [['X Bad', 'v']]) })
  cases.push({ label: 'obsolete line folding', bytes: Buffer.from(`GET /health/live HTTP/1.1${CRLF}Host: localhost${CRLF}X-Fold: a${CRLF} b${CRLF}Connection: close${CRLF}${CRLF}`) })
  cases.push({ label: 'no Host header', bytes: Buffer.from(`GET /health/live HTTP/1.1${CRLF}Connection: close${CRLF}${CRLF}`) })
  cases.push({ label: 'two Host headers', bytes: get('/health/live', [['Host', 'evil.example']]) })
  cases.push({ label: 'HTTP/0.9 request', bytes: `GET /health/live${CRLF}` })
  cases.push({ label: 'HTTP/2 preface over HTTP/1', bytes: `PRI * HTTP/2.0${CRLF}${CRLF}SM${CRLF}${CRLF}` })
  cases.push({ label: 'TLS hello on plain HTTP', bytes: Buffer.from('16030100a5010000a10303', 'hex') })
  cases.push({ label: 'random bytes', bytes: randomBytes(4096) })
  cases.push({ label: 'unknown method', bytes: request('FOO', '/health/live', [['Connection', 'close']]) })
  for (const method of ['TRACE', 'CONNECT', 'PROPFIND', 'OPTIONS', 'DELETE', 'PUT', 'PATCH']) {
    cases.push({ label: `${method} /api/upload/`, bytes: request(method, method === 'CONNECT' ? 'localhost:80' : '/api/upload/', [['Connection', 'close'], ['Content-Length', '0']]) })
  }
  cases.push({ label: 'absolute-form target', bytes: get('http://evil.example/api/get-phone/?phone_number=1') })
  cases.push({ label: 'asterisk target', bytes: request('GET', '*', [['Connection', 'close']]) })
  for (const key of ['', 'k'.repeat(300), 'k'.repeat(20_000), 'ключ', 'a\tb', '%00', '../../etc']) {
    // 1 to 255 printable ASCII characters are a key ('%00' and '../../etc' included); the rest is refused.
    const valid = /^[\x21-\x7e]{1,255}$/.test(key)
    cases.push({ label: `Idempotency-Key of ${key.length} characters`, bytes: upload(form(field('phone_number', '5551234'), file('a.png', PNG)), { extra: [['Idempotency-Key', key]] }), check: o => o.status === 200 && !valid ? 'a hostile Idempotency-Key was accepted' : undefined })
  }
  for (const id of ['x'.repeat(5000), 'a b', '\u00ff\u00fe', '<script>', '']) {
    cases.push({ label: `X-Request-Id of ${id.length} characters`, bytes: get('/health/live', [['X-Request-Id', id]]), check: o => o.status === 200 ? undefined : `answered ${o.status}` })
  }
  for (const auth of ['Bearer', 'Bearer ' + 'x'.repeat(20_000), 'Basic Og==', 'Bearer \u00ff', 'Bearer a b c']) {
    cases.push({ label: `Authorization '${auth.slice(0, 12)}' on /metrics`, bytes: get('/metrics', [['Authorization', auth]]) })
    cases.push({ label: `Authorization '${auth.slice(0, 12)}' on the lookup`, bytes: get('/api/get-phone/?phone_number=1', [['Authorization', auth]]) })
  }
  return cases
}

// Names that must be stored under a bounded, clean name: each is a valid upload.
const HOSTILE_NAMES: Array<[string, string]> = [
  ['NUL in the name', 'a\u0000b.png'],
  ['RTL override', 'photo\u202Egnp.exe'],
  ['every bidi control', '\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069\u200E\u200F\u061Cname.png'],
  ['zero-width characters', '\u200B\u200C\u200D\uFEFFzero\u00ADwidth.png'],
  ['traversal', '../../../etc/passwd'],
  ['Windows traversal', '..\\..\\windows\\system32\\evil.png'],
  ['only dots', '....'],
  ['leading dot', '.htaccess'],
  ['trailing dots and spaces', 'photo. . .  '],
  ['4-byte characters', '\u{1F600}\u{1F4F7}\u{10348}\u{1D11E}.png'],
  ['300 emoji', '\u{1F600}'.repeat(300) + '.png'],
  ['90 Chinese characters', '漢'.repeat(90) + '.png'],
  ['300 Arabic letters', 'ب'.repeat(300) + '.png'],
  ['a 10,000-character name', 'n'.repeat(10_000) + '.png'],
  ['ZWJ families', '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}'.repeat(20) + '.png'],
  ['combining marks', 'q\u0307\u0323'.repeat(100) + '.png'],
  ['zalgo', 'z' + '\u0301'.repeat(500) + '.png'],
  ['control characters', '\u0001\u0007\u001b[31mred\u007f\u0085.png'],
  ['line separators', 'a\u2028b\u2029c.png'],
  ['reserved characters', 'a<b>c:d"e|f?g*h.png'],
  ['percent-encoded traversal', '%2e%2e%2f%2e%2e%2fetc.png'],
  ['an HTML extension', 'x.html'],
  ['an SVG extension', 'x.svg'],
  ['a double extension', 'photo.png.exe'],
  ['a long extension', 'photo.' + 'x'.repeat(100)],
  ['Windows device name', 'CON.png'],
  ['tag characters', 'a\u{E0041}\u{E0042}b.png'],
  ['a flag with tags', '\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}.png'],
  ['noncharacters', 'a\uFFFE\uFFFFb.png'],
  ['a name of spaces', '     '],
  ['a quote-breaking name', 'a"; name="phone_number'],
  ['200 ASCII characters and a multibyte one at the cut', 'x'.repeat(195) + 'é'.repeat(10) + '.png']
]

/** The filename parameter as a client would write it: quotes and backslashes escaped. */
const quoted = (name: string): string => name.replaceAll('\\', '\\\\').replaceAll('"', '\\"')

function nameCases (): Case[] {
  return HOSTILE_NAMES.map(([label, name]) => ({
    label: `name: ${label}`,
    bytes: upload(form(field('phone_number', '5550011'), file(quoted(name), PNG))),
    boundMs: 30_000,
    check: o => {
      if (o.status !== 200) return `answered ${o.status}: ${o.body.slice(0, 200)}`
      const stored = (JSON.parse(o.body) as { results: Array<{ filename: string, status: string }> }).results[0]!
      if (stored.status !== 'uploaded') return `not stored: ${JSON.stringify(stored)}`
      if (utf8Length(stored.filename) > 220) return `${utf8Length(stored.filename)} bytes: ${stored.filename}`
      if (/[\p{Cc}/\\\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C\u200B\uFEFF]/u.test(stored.filename)) return `unsafe characters left: ${JSON.stringify(stored.filename)}`
      if (/\.(exe|html|svg)$/.test(stored.filename) || !stored.filename.endsWith('.png')) return `not stored as .png: ${stored.filename}`
      return undefined
    }
  }))
}

function phoneCases (): Case[] {
  const values = [
    '{"$gt":""}', '{"$ne":null}', "'; DROP TABLE images; --", '1; DROP DATABASE', '<script>alert(1)</script>', '$' + '{7*7}', '{{7*7}}',
    '1'.repeat(16), '1'.repeat(10_000), '', ' ', '+', '++1', '١٢٣٤٥', '１２３４５', '12\u0000', '12\u202E34', 'null', 'undefined', 'NaN', '--', '.',
    '1e10', '0x1F', '123abc', '../123', '%00', '1\r\nX-Injected: 1', '[1,2]', 'true', '\u{1F4DE}'
  ]
  const cases: Case[] = []
  for (const value of values) {
    cases.push({ label: `phone ${JSON.stringify(value.slice(0, 20))} (upload)`, bytes: upload(form(field('phone_number', value), file('a.png', PNG))), check: fourHundred })
    cases.push({ label: `phone ${JSON.stringify(value.slice(0, 20))} (lookup)`, bytes: get(`/api/get-phone/?phone_number=${encodeURIComponent(value)}`), check: o => o.status === 400 ? undefined : `answered ${o.status}` })
  }
  // As arrays and objects, in the form and in the query.
  const shapes: Array<[string, Buffer]> = [
    ['phone_number[]', form(field('phone_number[]', '5551234'), file('a.png', PNG))],
    ['phone_number[0]', form(field('phone_number[0]', '5551234'), file('a.png', PNG))],
    ['phone_number[$gt]', form(field('phone_number[$gt]', ''), file('a.png', PNG))],
    ['phone_number.__proto__', form(field('phone_number.__proto__', '1'), file('a.png', PNG))],
    ['__proto__', form(field('__proto__', '{"polluted":1}'), field('phone_number', '5551234'), file('a.png', PNG))],
    ['constructor.prototype', form(field('constructor[prototype][polluted]', '1'), field('phone_number', 'x'), file('a.png', PNG))],
    ['phone_number twice', form(field('phone_number', '5551234'), field('phone_number', '5559999'), file('a.png', PNG))],
    ['phone_number after 21 fields', form(...Array.from({ length: 21 }, (_, i) => field(`x${i}`, 'y')), field('phone_number', '5551234'), file('a.png', PNG))],
    ['a 10 KB field name', form(field('p'.repeat(10_000), '1'), file('a.png', PNG))]
  ]
  for (const [label, body] of shapes) cases.push({ label: `phone as ${label}`, bytes: upload(body), check: o => o.status !== undefined && o.status >= 400 ? undefined : `answered ${o.status}` })
  for (const query of ['phone_number[]=1', 'phone_number[$gt]=', 'phone_number=1&phone_number=2', 'phone_number[a]=1&phone_number[b]=2', 'phone_number=%7B%22%24gt%22%3A%22%22%7D', 'phone_number', '__proto__[x]=1&phone_number=1x', 'phone_number=%ZZ', 'phone_number=%00', `${'a'.repeat(5000)}=1&phone_number=1x`]) {
    cases.push({ label: `lookup ?${query.slice(0, 40)}`, bytes: get(`/api/get-phone/?${query}`), check: o => o.status !== undefined && o.status >= 400 ? undefined : `answered ${o.status}` })
  }
  return cases
}

function queryCases (): Case[] {
  const cases: Case[] = []
  const paths = ['/health', '/health/live', '/health/ready', '/api/uploads/6761a2f5c3b1e24d8f0a9b7c', '/api/get-phone/', '/docs/json', '/', '/metrics']
  const queries = ['a=1&a=2&a=3', `${'a=1&'.repeat(2000)}`, 'x[y][z][w]=1', '__proto__=1', 'constructor[prototype]=1', '%', '%%%', 'a=%E0%A4%A', '&&&&=&', `q=${'\u{1F600}'.repeat(500)}`]
  for (const path of paths) for (const query of queries) cases.push({ label: `${path}?${query.slice(0, 20)}`, bytes: get(`${path}?${encodeURI(query).replaceAll('%25', '%')}`) })
  return cases
}

function traversalCases (): Case[] {
  const targets = [
    '../../../../etc/passwd', '..%2f..%2f..%2fetc%2fpasswd', '%2e%2e/%2e%2e/etc/passwd', '%252e%252e%252fetc%252fpasswd', '..\\..\\etc\\passwd',
    '5551234/../../etc/passwd', '5551234/..%2f..%2fetc%2fpasswd', '5551234/%2e%2e%2f%2e%2e%2fpackage.json', '5551234/....//....//etc/passwd',
    '5551234/%00', '5551234/a%00.png', '5551234/.env', '5551234/%2e', '5551234/%2e%2e', '/etc/passwd', '5551234//etc/passwd',
    '5551234/' + 'a'.repeat(5000), '5551234/%ZZ', '5551234/%C0%AE%C0%AE%2fetc', '5551234/..;/..;/etc', 'abc/../../package.json',
    '..', '.', '%2e%2e', '5551234/../5551234/x.png', '5551234/x.png%2f..%2f..%2f..%2fpackage.json'
  ]
  const cases: Case[] = []
  for (const prefix of ['/files/', '/i/', '/admin/assets/', '/docs/static/', '/api/uploads/', '/api/tus/']) {
    for (const target of targets) {
      cases.push({
        label: `traversal ${prefix}${target.slice(0, 40)}`,
        bytes: get(`${prefix}${target}`),
        // Nothing outside a served directory may ever be answered with its bytes.
        check: o => o.status === 200 && /root:|"name": "image-upload-api"|DROPBOX_/.test(o.body) ? `served ${o.body.slice(0, 80)}` : undefined
      })
    }
  }
  return cases
}

function tusCases (): Case[] {
  const tus: Array<[string, string, Array<[string, string]>, string?]> = [
    ['PATCH before any creation', 'PATCH /api/tus/6761a2f5c3b1e24d8f0a9b7c', [['Tus-Resumable', '1.0.0'], ['Upload-Offset', '0'], ['Content-Type', 'application/offset+octet-stream']], 'hello'],
    ['PATCH to a non-id', 'PATCH /api/tus/../../etc/passwd', [['Tus-Resumable', '1.0.0'], ['Upload-Offset', '0'], ['Content-Type', 'application/offset+octet-stream']], 'hello'],
    ['HEAD of a non-id', 'HEAD /api/tus/%2e%2e', [['Tus-Resumable', '1.0.0']]],
    ['DELETE of nothing', 'DELETE /api/tus/6761a2f5c3b1e24d8f0a9b7c', [['Tus-Resumable', '1.0.0']]],
    ['creation without Tus-Resumable', 'POST /api/tus/', [['Upload-Length', '100']]],
    ['creation with another version', 'POST /api/tus/', [['Tus-Resumable', '0.2.2'], ['Upload-Length', '100']]],
    ['creation without length', 'POST /api/tus/', [['Tus-Resumable', '1.0.0']]],
    ['negative length', 'POST /api/tus/', [['Tus-Resumable', '1.0.0'], ['Upload-Length', '-1'], ['Upload-Metadata', 'phone_number NTU1MTIzNA==,filename YS5wbmc=']]],
    ['huge length', 'POST /api/tus/', [['Tus-Resumable', '1.0.0'], ['Upload-Length', '999999999999999999999'], ['Upload-Metadata', 'phone_number NTU1MTIzNA==,filename YS5wbmc=']]],
    ['length not a number', 'POST /api/tus/', [['Tus-Resumable', '1.0.0'], ['Upload-Length', 'ten'], ['Upload-Metadata', 'phone_number NTU1MTIzNA==,filename YS5wbmc=']]],
    ['deferred length', 'POST /api/tus/', [['Tus-Resumable', '1.0.0'], ['Upload-Defer-Length', '1'], ['Upload-Metadata', 'phone_number NTU1MTIzNA==,filename YS5wbmc=']]],
    ['both lengths', 'POST /api/tus/', [['Tus-Resumable', '1.0.0'], ['Upload-Defer-Length', '1'], ['Upload-Length', '100']]],
    ['metadata not base64', 'POST /api/tus/', [['Tus-Resumable', '1.0.0'], ['Upload-Length', '100'], ['Upload-Metadata', 'phone_number !!!,filename ???']]],
    ['metadata without phone', 'POST /api/tus/', [['Tus-Resumable', '1.0.0'], ['Upload-Length', '100'], ['Upload-Metadata', 'filename YS5wbmc=']]],
    ['metadata with a bad phone', 'POST /api/tus/', [['Tus-Resumable', '1.0.0'], ['Upload-Length', '100'], ['Upload-Metadata', `phone_number ${Buffer.from('{"$gt":""}').toString('base64')},filename YS5wbmc=`]]],
    ['metadata of 12 KB', 'POST /api/tus/', [['Tus-Resumable', '1.0.0'], ['Upload-Length', '100'], ['Upload-Metadata', `phone_number NTU1MTIzNA==,filename ${Buffer.from('n'.repeat(9000)).toString('base64')}`]]],
    ['metadata with duplicate keys', 'POST /api/tus/', [['Tus-Resumable', '1.0.0'], ['Upload-Length', '100'], ['Upload-Metadata', 'phone_number NTU1MTIzNA==,phone_number MQ==,filename YS5wbmc=']]],
    ['zero length', 'POST /api/tus/', [['Tus-Resumable', '1.0.0'], ['Upload-Length', '0'], ['Upload-Metadata', 'phone_number NTU1MTIzNA==,filename YS5wbmc=']]],
    ['creation with an offset', 'POST /api/tus/', [['Tus-Resumable', '1.0.0'], ['Upload-Offset', '50'], ['Upload-Length', '100'], ['Upload-Metadata', 'phone_number NTU1MTIzNA==,filename YS5wbmc='], ['Content-Type', 'application/offset+octet-stream']], 'x'.repeat(60)],
    ['creation with a body that is not an image', 'POST /api/tus/', [['Tus-Resumable', '1.0.0'], ['Upload-Length', '5'], ['Upload-Metadata', 'phone_number NTU1MTIzNA==,filename YS5wbmc='], ['Content-Type', 'application/offset+octet-stream']], 'hello'],
    ['creation with more bytes than its length', 'POST /api/tus/', [['Tus-Resumable', '1.0.0'], ['Upload-Length', '3'], ['Upload-Metadata', 'phone_number NTU1MTIzNA==,filename YS5wbmc='], ['Content-Type', 'application/offset+octet-stream']], 'hello'],
    ['a bad checksum header', 'POST /api/tus/', [['Tus-Resumable', '1.0.0'], ['Upload-Length', '5'], ['Upload-Checksum', 'md5 !!!'], ['Upload-Metadata', 'phone_number NTU1MTIzNA==,filename YS5wbmc=']]],
    ['an Idempotency-Key of 300 characters', 'POST /api/tus/', [['Tus-Resumable', '1.0.0'], ['Upload-Length', '5'], ['Idempotency-Key', 'k'.repeat(300)], ['Upload-Metadata', 'phone_number NTU1MTIzNA==,filename YS5wbmc=']]],
    ['OPTIONS with garbage', 'OPTIONS /api/tus/', [['Tus-Resumable', 'garbage'], ['Access-Control-Request-Method', 'PATCH\u00ff']]],
    ['GET on tus', 'GET /api/tus/6761a2f5c3b1e24d8f0a9b7c', [['Tus-Resumable', '1.0.0']]],
    ['X-HTTP-Method-Override to DELETE', 'POST /api/tus/6761a2f5c3b1e24d8f0a9b7c', [['Tus-Resumable', '1.0.0'], ['X-HTTP-Method-Override', 'DELETE']]],
    ['PATCH with a wrong content type', 'PATCH /api/tus/6761a2f5c3b1e24d8f0a9b7c', [['Tus-Resumable', '1.0.0'], ['Upload-Offset', '0'], ['Content-Type', 'text/plain']], 'hello'],
    ['PATCH without an offset', 'PATCH /api/tus/6761a2f5c3b1e24d8f0a9b7c', [['Tus-Resumable', '1.0.0'], ['Content-Type', 'application/offset+octet-stream']], 'hello'],
    ['PATCH with a negative offset', 'PATCH /api/tus/6761a2f5c3b1e24d8f0a9b7c', [['Tus-Resumable', '1.0.0'], ['Upload-Offset', '-5'], ['Content-Type', 'application/offset+octet-stream']], 'hello']
  ]
  return tus.map(([label, line, headers, body]) => {
    const [method, path] = line.split(' ') as [string, string]
    const withLength: Array<[string, string]> = body === undefined ? headers : [...headers, ['Content-Length', String(Buffer.byteLength(body))]]
    return { label: `tus: ${label}`, bytes: request(method, path, [['Connection', 'close'], ...withLength], body ?? '') }
  })
}

/** Out of order on one real upload: bytes at the wrong offsets, a second creation's bytes, then a termination. */
async function tusOutOfOrder (port: number): Promise<Outcome[]> {
  const base = `http://127.0.0.1:${port}`
  const created = await fetch(`${base}/api/tus/`, { method: 'POST', headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': String(PNG.length), 'Upload-Metadata': `phone_number ${Buffer.from('5550022').toString('base64')},filename ${Buffer.from('\u202Eevil.png').toString('base64')}` } })
  const location = created.headers.get('location')
  const outcomes: Outcome[] = [{ label: 'tus: creation for the out-of-order group', status: created.status, endedBy: 'server', ms: 0, head: '', body: await created.text() }]
  if (!location) return outcomes
  const path = new URL(location).pathname
  const patch = (offset: string, bytes: Buffer, extra: Array<[string, string]> = []): Buffer =>
    request('PATCH', path, [['Tus-Resumable', '1.0.0'], ['Upload-Offset', offset], ['Content-Type', 'application/offset+octet-stream'], ['Content-Length', String(bytes.length)], ['Connection', 'close'], ...extra], bytes)
  const steps: Case[] = [
    { label: 'tus: PATCH at the end before the start', bytes: patch(String(PNG.length - 10), PNG.subarray(-10)) },
    { label: 'tus: PATCH past the length', bytes: patch('0', Buffer.concat([PNG, PNG])) },
    { label: 'tus: PATCH with offset and length swapped', bytes: patch(String(PNG.length), PNG.subarray(0, 10)) },
    { label: 'tus: PATCH with headers after the body', bytes: Buffer.concat([request('PATCH', path, [['Tus-Resumable', '1.0.0'], ['Content-Length', '10'], ['Connection', 'close']], PNG.subarray(0, 10)), Buffer.from(`Upload-Offset: 0${CRLF}${CRLF}`)]) },
    { label: 'tus: PATCH of half, then HEAD', bytes: patch('0', PNG.subarray(0, 100)) },
    { label: 'tus: PATCH at a stale offset', bytes: patch('0', PNG.subarray(0, 100)) },
    { label: 'tus: HEAD', bytes: request('HEAD', path, [['Tus-Resumable', '1.0.0'], ['Connection', 'close']]) },
    { label: 'tus: termination', bytes: request('DELETE', path, [['Tus-Resumable', '1.0.0'], ['Connection', 'close'], ['Content-Length', '0']]) },
    { label: 'tus: PATCH after termination', bytes: patch('100', PNG.subarray(100)) }
  ]
  for (const step of steps) outcomes.push(await exchange(port, step))
  return outcomes
}

function serverEnded (o: Outcome): string | undefined {
  return o.endedBy === 'server' ? undefined : `not ended by the server within ${o.ms} ms`
}

function fourHundred (o: Outcome): string | undefined {
  return o.status === 400 ? undefined : `answered ${o.status}: ${o.body.slice(0, 120)}`
}

async function filesUnder (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])
  return entries.filter(e => e.isFile()).map(e => join(e.parentPath, e.name))
}

t.test('hundreds of hostile requests over real sockets: no 5xx, each ends in bounded time, nothing left behind, still healthy', async t => {
  const { config } = await testEnv(t, {
    // Short bounds, so that what stalls is cut off within the test's time.
    UPLOAD_IDLE_TIMEOUT_MS: '1000',
    HEADERS_TIMEOUT_MS: '2000',
    REQUEST_TIMEOUT_MS: '5000',
    UPLOAD_MAX_FILE_BYTES: String(1024 * 1024),
    UPLOAD_MAX_FILES: '5',
    UPLOAD_WAIT_MS: '20000'
  })
  const app = await build(t, config)
  await startWorker(t, config)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  const live = async (): Promise<{ status: number, uptime: number }> => {
    const res = await fetch(`http://127.0.0.1:${port}/health/live`)
    return { status: res.status, uptime: (await res.json() as { uptime_seconds: number }).uptime_seconds }
  }
  const before = await live()
  t.equal(before.status, 200)

  const tusMounted = app.hasRoute({ method: 'POST', url: '/api/tus/' })
  const groups: Array<[string, Case[]]> = [
    ['multipart', multipartCases()],
    ['lengths', lengthCases()],
    ['endless and stalled', endlessCases()],
    ['headers', headerCases()],
    ['file names', nameCases()],
    ['phone numbers', phoneCases()],
    ['queries', queryCases()],
    ['traversal', traversalCases()],
    ...(tusMounted ? [['tus', tusCases()] as [string, Case[]]] : [])
  ]
  if (!tusMounted) t.comment('tus is not mounted at /api/tus/ in this build: its group is skipped')

  const started = performance.now()
  // The slow groups (stalls, endless bodies, stored uploads) run beside the quick ones.
  const results = await Promise.all(groups.map(async ([name, cases]) => [name, await runAll(port, cases, name === 'endless and stalled' ? cases.length : 6)] as const))
  const outcomes = results.flatMap(([, o]) => o)
  if (tusMounted) {
    outcomes.push(...await tusOutOfOrder(port))
    // A creation the server accepted is the client's upload to finish or end: end them.
    for (const o of outcomes.filter(o => o.label.startsWith('tus: ') && o.status === 201)) {
      const location = /\r\nlocation: *(\S+)/i.exec(o.head)?.[1]
      if (location) await fetch(`http://127.0.0.1:${port}${new URL(location, 'http://localhost').pathname}`, { method: 'DELETE', headers: { 'Tus-Resumable': '1.0.0' } })
    }
  }
  t.comment(`${outcomes.length} hostile requests in ${Math.round(performance.now() - started)} ms`)
  t.ok(outcomes.length >= 600, `at least 600 requests (${outcomes.length})`)

  const serverErrors = outcomes.filter(o => o.status !== undefined && o.status >= 500)
  t.same(serverErrors.map(o => `${o.label}: ${o.status} ${o.body.slice(0, 120)}`), [], 'no 5xx')
  const cases = groups.flatMap(([, c]) => c)
  const unbounded = outcomes.filter((o, i) => o.endedBy === 'client' && o.status === undefined && cases[i]?.endless !== true)
  t.same(unbounded.map(o => `${o.label} (${o.ms} ms)`), [], 'every request not endless by design was answered or cut off by the server')
  const failedChecks = outcomes.flatMap((o, i) => {
    const problem = cases[i]?.label === o.label ? cases[i]?.check?.(o) : undefined
    return problem ? [`${o.label}: ${problem}`] : []
  })
  t.same(failedChecks, [], 'every case\'s own expectations hold')

  // The valid uploads among them are stored; nothing else is left staged or queued.
  const queue = app.uploadQueue.queue
  await waitFor(async () => {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed')
    return Object.values(counts).every(n => n === 0)
  }, { what: 'the queue to hold no unfinished or failed job' })
  const staged = await waitFor(async () => (await filesUnder(config.stagingDir)).length === 0 ? [] : undefined, { what: 'the staging area to be empty' }).catch(async () => filesUnder(config.stagingDir))
  t.same(staged, [], 'nothing staged')
  t.same(await queue.getJobCounts('failed', 'waiting', 'active', 'delayed'), { failed: 0, waiting: 0, active: 0, delayed: 0 }, 'nothing queued, nothing failed')
  const stored = await filesUnder(config.dataDir)
  t.ok(stored.every(path => Buffer.byteLength(path.split('/').pop()!) <= 255), 'every stored name fits one path component')

  const ready = await fetch(`http://127.0.0.1:${port}/health/ready`)
  t.equal(ready.status, 200, `ready afterwards: ${await ready.text()}`)
  const after = await live()
  t.equal(after.status, 200, 'the same app instance still answers')
  t.ok(after.uptime >= before.uptime, 'and it is the same process: its uptime went on')
  t.ok(app.server.listening, 'still listening on the same port')
})
