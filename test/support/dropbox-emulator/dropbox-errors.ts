import { randomInt } from 'node:crypto'

// Error bodies in Dropbox's shapes. A 409 carries {error_summary, error} where error is the
// route's Stone union; 401 and 429 use the same envelope around AuthError / RateLimitError.

export interface Tagged {
  '.tag': string
  [field: string]: unknown
}

export interface ErrorEnvelope {
  error_summary: string
  error: unknown
}

// "path/conflict/file/.." – the tags down the union, then a varying run of dots, which is how
// Dropbox discourages matching on the summary text.
export function errorSummary (error: unknown): string {
  const tags: string[] = []
  let current: unknown = error
  while (isObject(current)) {
    const tag = current['.tag']
    if (typeof tag === 'string') {
      tags.push(tag)
      current = isObject(current[tag]) ? current[tag] : current.reason
    } else {
      current = current.reason
    }
  }
  return `${tags.join('/')}/${'.'.repeat(2 + randomInt(3))}`
}

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function envelope (error: unknown): ErrorEnvelope {
  return { error_summary: errorSummary(error), error }
}

export function conflict (kind: 'file' | 'folder' | 'file_ancestor'): Tagged {
  return { '.tag': 'conflict', conflict: { '.tag': kind } }
}

export function lookupFailed (reason: Tagged): Tagged {
  return { '.tag': 'lookup_failed', lookup_failed: reason }
}

export function incorrectOffset (correctOffset: number): Tagged {
  return { '.tag': 'incorrect_offset', correct_offset: correctOffset }
}

export const notFound: Tagged = { '.tag': 'not_found' }

export function rateLimitBody (reason: 'too_many_requests' | 'too_many_write_operations', retryAfter: number): ErrorEnvelope {
  return envelope({ reason: { '.tag': reason }, retry_after: retryAfter })
}
