// Conditional and range requests (RFC 9110 §13, §14) for the image URLs, over bytes whose entity
// tag is their content hash: they never change under a URL.

export interface ByteRange {
  start: number
  end: number
}

/** An entity tag from a content hash. Strong: the same tag means the same bytes. */
export const entityTag = (contentHash: string): string => `"${contentHash}"`

/** If-None-Match (weak comparison): true when the client's copy is current, a 304. */
export function notModified (ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false
  if (ifNoneMatch.trim() === '*') return true
  const opaque = etag.replace(/^W\//, '')
  return ifNoneMatch.split(',').some(tag => tag.trim().replace(/^W\//, '') === opaque)
}

/**
 * The one range asked for in `Range: bytes=...`, clipped to the file; 'unsatisfiable' (416) when
 * it starts past the end; undefined (the whole file, 200) when there is no usable Range header:
 * none, another unit, several ranges, malformed, or an If-Range naming other bytes.
 */
export function requestedRange (range: string | undefined, ifRange: string | undefined, size: number, etag: string): ByteRange | 'unsatisfiable' | undefined {
  if (range === undefined) return undefined
  // If-Range with a date or another tag: the client's part is of other bytes, send them all.
  if (ifRange !== undefined && ifRange.trim() !== etag) return undefined
  const match = /^bytes=(\d*)-(\d*)$/.exec(range.trim())
  if (!match || (match[1] === '' && match[2] === '')) return undefined
  if (match[1] === '') {
    const suffix = Number(match[2])
    if (suffix === 0 || size === 0) return 'unsatisfiable'
    return { start: Math.max(size - suffix, 0), end: size - 1 }
  }
  const start = Number(match[1])
  if (match[2] !== '' && Number(match[2]) < start) return undefined
  if (start >= size) return 'unsatisfiable'
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1)
  return { start, end }
}
