// The dropbox SDK hard-codes https://{api,content}.dropboxapi.com in every URL it builds, so the
// only way to point it elsewhere (the emulator in tests and benchmarks) is a fetch that rewrites
// the origin and keeps the path and query.
export function redirectingFetch (baseUrl: string | undefined): typeof fetch {
  if (!baseUrl) return fetch
  const base = new URL(baseUrl)
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input))
    url.protocol = base.protocol
    url.host = base.host
    return fetch(url, init)
  }
}
