import { createReadStream } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { pipeline } from 'node:stream/promises'
import type { EmulatorState } from './emulator-state.ts'
import { sendText } from './http-io.ts'
import { contentTypeFor } from './mime-types.ts'
import type { FileEntry } from './namespace.ts'
import type { SharedLink } from './shared-links.ts'

// What www.dropbox.com does with a shared link: raw=1 and dl=1 redirect to a content host
// (here /cd/0/... on the emulator) that serves the bytes; otherwise a preview page. A link
// without its rlkey, or whose file is gone, is a 404.

export async function handleSharedLinkPage (state: EmulatorState, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  state.counters.countCall('shared_link')
  const [, , kind, linkId = ''] = url.pathname.split('/')
  const link = state.links.get(linkId)
  const entry = link && state.namespace.byId(link.targetId)
  const expectedKind = link?.kind === 'file' ? 'fi' : 'fo'
  if (!link || !entry || kind !== expectedKind || url.searchParams.get('rlkey') !== link.rlkey) return notFound(res)

  const raw = url.searchParams.get('raw') === '1'
  const attachment = url.searchParams.get('dl') === '1'
  if (entry.kind === 'folder') {
    if (raw || attachment) return sendText(res, 404, 'Folder downloads (zip) are not emulated.')
    return page(res, entry.name)
  }
  if (!raw && !attachment) return page(res, entry.name)
  // Absolute, on whatever host the client reached us by, as Dropbox sends it to its content host.
  const origin = req.headers.host ? `http://${req.headers.host}` : state.url
  const disposition = raw ? 'inline' : 'get'
  res.writeHead(302, { Location: `${origin}/cd/0/${disposition}/${contentToken(link)}/file` })
  res.end()
}

export async function handleLinkContent (state: EmulatorState, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  state.counters.countCall('shared_link_content')
  const [, , , disposition, token = ''] = url.pathname.split('/')
  const [linkId = '', rlkey] = Buffer.from(token, 'base64url').toString('utf8').split('.')
  const link = state.links.get(linkId)
  const entry = link && state.namespace.byId(link.targetId)
  if (!link || link.rlkey !== rlkey || entry?.kind !== 'file' || (disposition !== 'inline' && disposition !== 'get')) {
    return notFound(res)
  }
  return serveFile(req, res, entry, disposition === 'inline' ? 'inline' : 'attachment')
}

function contentToken (link: SharedLink): string {
  return Buffer.from(`${link.linkId}.${link.rlkey}`).toString('base64url')
}

async function serveFile (req: IncomingMessage, res: ServerResponse, entry: FileEntry, disposition: 'inline' | 'attachment'): Promise<void> {
  const asciiName = entry.name.replace(/[^\u0020-\u007e]|["\\]/g, '_')
  res.writeHead(200, {
    'Content-Type': contentTypeFor(entry.name),
    'Content-Length': entry.size,
    'Content-Disposition': `${disposition}; filename="${asciiName}"; filename*=UTF-8''${encodeURIComponent(entry.name)}`,
    ETag: `"${entry.rev}"`
  })
  if (req.method === 'HEAD') {
    res.end()
    return
  }
  await pipeline(createReadStream(entry.blob), res)
}

function page (res: ServerResponse, name: string): void {
  const escaped = name.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)
  const html = `<!doctype html><html><head><title>${escaped} | Dropbox</title></head><body><h1>${escaped}</h1></body></html>`
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(html) })
  res.end(html)
}

function notFound (res: ServerResponse): void {
  const html = '<!doctype html><html><body><h1>Error (404)</h1><p>The file you are looking for could not be found.</p></body></html>'
  res.writeHead(404, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(html) })
  res.end(html)
}
