import { randomUUID } from 'node:crypto'

// A request id a client (or a proxy in front of us) sends in X-Request-Id is kept when it is
// sane, so one id follows an upload from the phone to the worker's log lines: at most 128
// characters from a set that cannot break a header, a log line or a dashboard's query. Anything
// else (too long, spaces, control or non-ASCII characters, two of them) is replaced by a new id.
const SANE = /^[A-Za-z0-9._:@+=/-]{1,128}$/

export function acceptedRequestId (header: string | string[] | undefined): string | undefined {
  return typeof header === 'string' && SANE.test(header) ? header : undefined
}

export function requestIdFor (header: string | string[] | undefined): string {
  return acceptedRequestId(header) ?? randomUUID()
}
