/**
 * Turns a Dropbox shared link into a raw URL that serves the bytes directly: the query is parsed,
 * `dl` removed, `raw=1` set, and every other parameter kept — `rlkey` grants access to current
 * links (/scl/fi/...), so dropping it would break them. Older /s/ links work the same way.
 */
export function toRawUrl (sharedUrl: string): string {
  const url = new URL(sharedUrl)
  url.searchParams.delete('dl')
  url.searchParams.set('raw', '1')
  return url.toString()
}
