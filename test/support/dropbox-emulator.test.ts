import { spawn } from 'node:child_process'
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Dropbox, DropboxAuth, DropboxResponseError, type files } from 'dropbox'
import t, { type Test } from 'tap'
import { redirectingFetch } from '../../src/storage/dropbox/fetch.ts'
import {
  ContentHasher, contentHash, OutsideChangeError, startDropboxEmulator, type DropboxEmulator, type EmulatorOptions
} from './dropbox-emulator/index.ts'

// Drives the emulator through the real dropbox SDK, the way the service does, plus raw fetch
// where the SDK would never send the malformed request under test.

// The parsed body of a failed call: JSON for 401/409/429, a string for 400/5xx.
type ErrorBody = Record<string, any>

async function setup (t: Test, options?: Partial<EmulatorOptions>): Promise<{ emulator: DropboxEmulator, dbx: Dropbox }> {
  const emulator = await startDropboxEmulator(options)
  t.teardown(() => emulator.close())
  return { emulator, dbx: client(emulator) }
}

function client (emulator: DropboxEmulator, auth = clientAuth(emulator)): Dropbox {
  return new Dropbox({ auth, fetch: redirectingFetch(emulator.url) })
}

// Token refresh uses auth.fetch, so the auth object needs the redirecting fetch too.
function clientAuth (emulator: DropboxEmulator): DropboxAuth {
  return new DropboxAuth({
    clientId: emulator.appKey,
    clientSecret: emulator.appSecret,
    refreshToken: emulator.refreshToken,
    fetch: redirectingFetch(emulator.url)
  })
}

async function failure (promise: Promise<unknown>): Promise<DropboxResponseError<ErrorBody>> {
  try {
    await promise
  } catch (error) {
    if (error instanceof DropboxResponseError) return error as DropboxResponseError<ErrorBody>
    throw error
  }
  throw new Error('expected the call to fail')
}

async function accessToken (emulator: DropboxEmulator): Promise<string> {
  const res = await fetch(`${emulator.url}/oauth2/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: emulator.refreshToken,
      client_id: emulator.appKey,
      client_secret: emulator.appSecret
    })
  })
  return ((await res.json()) as { access_token: string }).access_token
}

async function rawCall (emulator: DropboxEmulator, route: string, headers: Record<string, string>, body: string | Buffer = ''): Promise<Response> {
  const token = await accessToken(emulator)
  return fetch(`${emulator.url}/2/${route}`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, ...headers }, body })
}

// Dropbox's published algorithm, written out independently of the emulator's hasher.
function referenceContentHash (data: Buffer): string {
  const blocks: Buffer[] = []
  for (let offset = 0; offset < data.length; offset += 4 * 1024 * 1024) {
    blocks.push(createHash('sha256').update(data.subarray(offset, offset + 4 * 1024 * 1024)).digest())
  }
  return createHash('sha256').update(Buffer.concat(blocks)).digest('hex')
}

function rawUrl (sharedUrl: string): string {
  const url = new URL(sharedUrl)
  url.searchParams.delete('dl')
  url.searchParams.set('raw', '1')
  return url.href
}

t.test('token refresh, bad credentials, expired and unknown tokens', async (t) => {
  const { emulator } = await setup(t)
  const auth = clientAuth(emulator)
  const dbx = client(emulator, auth)
  const fetch = redirectingFetch(emulator.url)
  await dbx.filesListFolder({ path: '' })
  t.equal(emulator.counters.tokensIssued, 1)

  const badSecret = new DropboxAuth({ clientId: emulator.appKey, clientSecret: 'wrong', refreshToken: emulator.refreshToken, fetch })
  const invalidClient = await failure(badSecret.refreshAccessToken())
  t.equal(invalidClient.status, 400)
  t.equal(invalidClient.error.error, 'invalid_client')
  const badRefresh = new DropboxAuth({ clientId: emulator.appKey, clientSecret: emulator.appSecret, refreshToken: 'revoked', fetch })
  const invalidGrant = await failure(badRefresh.refreshAccessToken())
  t.same(invalidGrant.error, { error: 'invalid_grant', error_description: 'refresh token is invalid or revoked' })

  const form = await globalThis.fetch(`${emulator.url}/oauth2/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: emulator.refreshToken, client_id: emulator.appKey, client_secret: emulator.appSecret })
  })
  t.match(await form.json(), { access_token: /^sl\./, token_type: 'bearer', expires_in: 14400 })

  emulator.expireAccessTokens()
  const expired = await failure(dbx.filesListFolder({ path: '' }))
  t.equal(expired.status, 401)
  t.equal(expired.error.error['.tag'], 'expired_access_token')
  t.match(expired.error.error_summary, /^expired_access_token\/\.\.+$/)
  await auth.refreshAccessToken() // the SDK never retries a 401: the caller refreshes
  t.equal((await dbx.filesListFolder({ path: '' })).status, 200)

  const stranger = await failure(new Dropbox({ accessToken: 'sl.made-up', fetch }).filesListFolder({ path: '' }))
  t.equal(stranger.status, 401)
  t.equal(stranger.error.error['.tag'], 'invalid_access_token')

  // The TTL is enforced server-side, not only announced in expires_in.
  emulator.configure({ tokenTtlSeconds: 0 })
  const shortLived = await failure(client(emulator).filesListFolder({ path: '' }))
  t.equal(shortLived.error.error['.tag'], 'expired_access_token')
})

t.test('upload: metadata, identical content, conflicts, autorename, case-insensitive paths', async (t) => {
  const { emulator, dbx } = await setup(t)
  const bytes = Buffer.from('first photo')
  const other = Buffer.from('second photo')
  const first = (await dbx.filesUpload({ path: '/Phones/+15551234/Photo.JPG', contents: bytes })).result
  t.match(first, {
    name: 'Photo.JPG',
    path_display: '/Phones/+15551234/Photo.JPG',
    path_lower: '/phones/+15551234/photo.jpg',
    size: bytes.length,
    content_hash: referenceContentHash(bytes),
    is_downloadable: true,
    id: /^id:/,
    rev: /^[0-9a-f]{9,}$/,
    server_modified: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/
  })

  const again = (await dbx.filesUpload({ path: '/phones/+15551234/photo.jpg', contents: bytes })).result
  t.same([again.rev, again.path_display], [first.rev, first.path_display], 'identical content writes nothing')
  t.equal(emulator.counters.filesWritten, 1)
  const strict = await failure(dbx.filesUpload({ path: '/phones/+15551234/photo.jpg', contents: bytes, strict_conflict: true }))
  t.equal(strict.error.error.reason.conflict['.tag'], 'file')

  const conflict = await failure(dbx.filesUpload({ path: '/PHONES/+15551234/photo.jpg', contents: other }))
  t.equal(conflict.status, 409)
  t.match(conflict.error, { error_summary: /^path\/conflict\/file\/\.\.+$/, error: { '.tag': 'path', reason: { '.tag': 'conflict', conflict: { '.tag': 'file' } } } })
  // UploadWriteFailed.upload_session_id lets the rejected bytes be committed elsewhere.
  const rescued = await dbx.filesUploadSessionFinish({
    cursor: { session_id: conflict.error.error.upload_session_id, offset: other.length },
    commit: { path: '/rescued.jpg' }
  })
  t.equal(rescued.result.content_hash, contentHash(other))

  const renamed1 = (await dbx.filesUpload({ path: '/phones/+15551234/photo.jpg', contents: other, autorename: true })).result
  const renamed2 = (await dbx.filesUpload({ path: '/phones/+15551234/photo.jpg', contents: Buffer.from('third'), autorename: true })).result
  t.equal(renamed1.path_display, '/Phones/+15551234/photo (1).jpg')
  t.equal(renamed2.name, 'photo (2).jpg')

  const overwritten = (await dbx.filesUpload({ path: '/phones/+15551234/PHOTO.jpg', contents: other, mode: { '.tag': 'overwrite' } })).result
  t.equal(overwritten.id, first.id)
  t.not(overwritten.rev, first.rev)
  t.equal(overwritten.path_display, first.path_display, 'the display case of the existing file is kept')
  t.same(await emulator.readFile('/PHONES/+15551234/photo.JPG'), other)

  const stale = await failure(dbx.filesUpload({ path: '/Phones/+15551234/Photo.JPG', contents: Buffer.from('x'), mode: { '.tag': 'update', update: first.rev } }))
  t.equal(stale.error.error.reason.conflict['.tag'], 'file')
  const updated = await dbx.filesUpload({ path: '/Phones/+15551234/Photo.JPG', contents: Buffer.from('x'), mode: { '.tag': 'update', update: overwritten.rev } })
  t.equal(updated.result.size, 1)

  const folderInTheWay = await failure(dbx.filesUpload({ path: '/phones', contents: bytes }))
  t.equal(folderInTheWay.error.error.reason.conflict['.tag'], 'folder')
  const fileAncestor = await failure(dbx.filesUpload({ path: '/phones/+15551234/photo.jpg/x.jpg', contents: bytes }))
  t.equal(fileAncestor.error.error.reason.conflict['.tag'], 'file_ancestor')
})

t.test('paths: pattern, malformed, disallowed names, colon', async (t) => {
  const { dbx } = await setup(t)
  const contents = Buffer.from('x')
  const pattern = await failure(dbx.filesUpload({ path: 'no-slash.jpg', contents }))
  t.equal(pattern.status, 400)
  t.match(pattern.error, /^Error in call to API function "files\/upload": HTTP header "Dropbox-API-Arg": path: 'no-slash.jpg' did not match pattern/)

  for (const path of ['/trailing /a.jpg', '/a\\b.jpg', '/a//b.jpg', '/a/']) {
    const malformed = await failure(dbx.filesUpload({ path, contents }))
    t.equal(malformed.error.error.reason['.tag'], 'malformed_path', path)
  }
  for (const path of ['/desktop.ini', '/x/Thumbs.db', '/.DS_Store', '/a/.dropbox']) {
    const disallowed = await failure(dbx.filesUpload({ path, contents }))
    t.match(disallowed.error, { error_summary: /^path\/disallowed_name\//, error: { reason: { '.tag': 'disallowed_name' } } }, path)
  }
  t.equal((await dbx.filesUpload({ path: '/10:30 meeting.jpg', contents })).result.name, '10:30 meeting.jpg')
})

t.test('request format: ASCII Dropbox-API-Arg, content types, JSON bodies', async (t) => {
  const { emulator, dbx } = await setup(t)
  const contents = Buffer.from('bytes')
  const rawUtf8 = Buffer.from(JSON.stringify({ path: '/café.jpg' })).toString('latin1')
  const nonAscii = await rawCall(emulator, 'files/upload', { 'Content-Type': 'application/octet-stream', 'Dropbox-API-Arg': rawUtf8 }, contents)
  t.equal(nonAscii.status, 400)
  t.equal(await nonAscii.text(), 'Error in call to API function "files/upload": HTTP header "Dropbox-API-Arg": could not decode input as JSON')

  const name = 'Café 日本 😀.jpg'
  t.equal((await dbx.filesUpload({ path: `/${name}`, contents })).result.path_display, `/${name}`, 'the SDK\'s \\u escapes decode')
  const downloaded = await dbx.filesDownload({ path: '/CAFÉ 日本 😀.jpg' })
  t.equal(downloaded.result.name, name)
  t.same((downloaded.result as unknown as { fileBinary: Buffer }).fileBinary, contents)

  const bareMode = await rawCall(emulator, 'files/upload', {
    'Content-Type': 'application/octet-stream',
    'Dropbox-API-Arg': JSON.stringify({ path: `/${'x'}.jpg`, mode: 'overwrite' })
  }, contents)
  t.equal(bareMode.status, 200, 'a void union member may be a bare string')

  const wrongType = await rawCall(emulator, 'files/upload', { 'Content-Type': 'application/json', 'Dropbox-API-Arg': '{"path":"/a.jpg"}' }, '{}')
  t.equal(wrongType.status, 400)
  t.match(await wrongType.text(), 'Bad HTTP "Content-Type" header: "application/json".')

  const badJson = await rawCall(emulator, 'files/list_folder', { 'Content-Type': 'application/json' }, '{"path":')
  t.equal(await badJson.text(), 'Error in call to API function "files/list_folder": request body: could not decode input as JSON')
  const missing = await rawCall(emulator, 'files/get_metadata', { 'Content-Type': 'application/json' }, '{}')
  t.match(await missing.text(), "request body: missing required field 'path'")
  const wrongField = await rawCall(emulator, 'files/list_folder', { 'Content-Type': 'application/json' }, '{"path":"","recursive":"yes"}')
  t.match(await wrongField.text(), 'request body: recursive: expected boolean, got string')
  const noAuth = await fetch(`${emulator.url}/2/files/list_folder`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"path":""}' })
  t.equal(noAuth.status, 400)
})

t.test('upload sessions: start, append, incorrect_offset, closed, finish', async (t) => {
  const { emulator, dbx } = await setup(t)
  const parts: [Buffer, Buffer, Buffer] = [randomBytes(1000), randomBytes(1000), randomBytes(500)]
  const { session_id: sessionId } = (await dbx.filesUploadSessionStart({ contents: parts[0] })).result
  await dbx.filesUploadSessionAppendV2({ cursor: { session_id: sessionId, offset: 1000 }, contents: parts[1] })
  const wrong = await failure(dbx.filesUploadSessionAppendV2({ cursor: { session_id: sessionId, offset: 1000 }, contents: parts[1] }))
  t.equal(wrong.status, 409)
  t.same(wrong.error.error, { '.tag': 'incorrect_offset', correct_offset: 2000 })
  const wrongFinish = await failure(dbx.filesUploadSessionFinish({ cursor: { session_id: sessionId, offset: 5 }, commit: { path: '/big.bin' } }))
  t.same(wrongFinish.error.error, { '.tag': 'lookup_failed', lookup_failed: { '.tag': 'incorrect_offset', correct_offset: 2000 } })

  const finished = (await dbx.filesUploadSessionFinish({ cursor: { session_id: sessionId, offset: 2000 }, commit: { path: '/Big.bin' }, contents: parts[2] })).result
  const whole = Buffer.concat(parts)
  t.match(finished, { size: 2500, content_hash: referenceContentHash(whole), path_display: '/Big.bin' })
  t.same(await emulator.readFile('/big.bin'), whole)
  const reused = await failure(dbx.filesUploadSessionFinish({ cursor: { session_id: sessionId, offset: 2500 }, commit: { path: '/again.bin' } }))
  t.same(reused.error.error, { '.tag': 'lookup_failed', lookup_failed: { '.tag': 'not_found' } })

  const closed = (await dbx.filesUploadSessionStart({ close: true, contents: parts[0] })).result.session_id
  const appendClosed = await failure(dbx.filesUploadSessionAppendV2({ cursor: { session_id: closed, offset: 1000 }, contents: parts[1] }))
  t.equal(appendClosed.error.error['.tag'], 'closed')
  t.equal(emulator.counters.commits, 1, 'start and append are not commits')
})

t.test('finish_batch_v2: one commit, per-entry failures, retryable entries', async (t) => {
  const { emulator, dbx } = await setup(t)
  const start = async (close: boolean): Promise<string> =>
    (await dbx.filesUploadSessionStart({ close, contents: Buffer.from(`data-${close}`) })).result.session_id
  const sessions = [await start(true), await start(true), await start(true), await start(false)]
  const size = Buffer.byteLength('data-true')
  const entry = (sessionId: string, i: number) => ({
    cursor: { session_id: sessionId, offset: i === 3 ? Buffer.byteLength('data-false') : size },
    commit: { path: `/batch/${i}.jpg` }
  })
  emulator.configure({ batchEntryFailures: 1 })
  const { entries } = (await dbx.filesUploadSessionFinishBatchV2({ entries: sessions.map(entry) })).result
  t.same(entries[0], { '.tag': 'failure', failure: { '.tag': 'too_many_write_operations' } })
  t.match(entries[1], { '.tag': 'success', path_display: '/batch/1.jpg', size })
  t.match(entries[2], { '.tag': 'success', path_display: '/batch/2.jpg' })
  t.same(entries[3], { '.tag': 'failure', failure: { '.tag': 'lookup_failed', lookup_failed: { '.tag': 'not_closed' } } })

  const retry = (await dbx.filesUploadSessionFinishBatchV2({ entries: [entry(sessions[0] ?? '', 0)] })).result
  t.match(retry.entries[0], { '.tag': 'success', path_display: '/batch/0.jpg' })
  t.match(emulator.counters, { batchEntries: 5, batchEntryFailures: 1, commits: 2, filesWritten: 3 })

  const tooMany = await failure(dbx.filesUploadSessionFinishBatchV2({ entries: Array.from({ length: 1001 }, () => entry('x', 0)) }))
  t.equal(tooMany.status, 400)
  t.match(tooMany.error, 'entries: expected at most 1000 items, got 1001')
})

t.test('shared links: create, already exists with and without metadata, list, download', async (t) => {
  const { emulator, dbx } = await setup(t)
  const contents = randomBytes(2048)
  await dbx.filesUpload({ path: '/Phones/+1555/Pic.jpg', contents })
  const link = (await dbx.sharingCreateSharedLinkWithSettings({ path: '/phones/+1555/pic.jpg' })).result
  t.match(link, { '.tag': 'file', name: 'Pic.jpg', path_lower: '/phones/+1555/pic.jpg' })
  t.match(link.url, /^https:\/\/www\.dropbox\.com\/scl\/fi\/[a-z0-9]+\/Pic\.jpg\?rlkey=[a-z0-9]+&st=[a-z0-9]+&dl=0$/)

  const exists = await failure(dbx.sharingCreateSharedLinkWithSettings({ path: '/Phones/+1555/Pic.jpg' }))
  t.equal(exists.status, 409)
  t.equal(exists.error.error['.tag'], 'shared_link_already_exists')
  t.equal(exists.error.error.shared_link_already_exists.metadata.url, link.url)
  emulator.configure({ sharedLinkExistsWithoutMetadata: true })
  const bare = await failure(dbx.sharingCreateSharedLinkWithSettings({ path: '/Phones/+1555/Pic.jpg' }))
  t.same(bare.error.error, { '.tag': 'shared_link_already_exists' })
  const listed = (await dbx.sharingListSharedLinks({ path: '/Phones/+1555/Pic.jpg', direct_only: true })).result
  t.same(listed.links.map((l) => l.url), [link.url])

  const raw = await emulator.download(rawUrl(link.url))
  t.equal(raw.status, 200)
  t.ok(raw.redirected, 'raw=1 answers with a redirect')
  t.equal(raw.headers.get('content-type'), 'image/jpeg')
  t.same(Buffer.from(await raw.arrayBuffer()), contents)
  const attachment = await emulator.download(link.url.replace('dl=0', 'dl=1'))
  t.match(attachment.headers.get('content-disposition'), /^attachment;/)
  await attachment.arrayBuffer()
  const preview = await emulator.download(link.url)
  t.match(preview.headers.get('content-type'), 'text/html')
  await preview.text()

  const withoutKey = new URL(rawUrl(link.url))
  withoutKey.searchParams.delete('rlkey')
  t.equal((await emulator.download(withoutKey.href)).status, 404, 'dropping rlkey breaks the link')
  await dbx.filesDeleteV2({ path: '/phones/+1555/pic.jpg' })
  t.equal((await emulator.download(rawUrl(link.url))).status, 404, 'a deleted file\'s link is dead')

  const missing = await failure(dbx.sharingCreateSharedLinkWithSettings({ path: '/nope.jpg' }))
  t.same(missing.error.error, { '.tag': 'path', path: { '.tag': 'not_found' } })
})

t.test('content_hash: Dropbox\'s block algorithm, mismatch and corrupted storage', async (t) => {
  const { emulator, dbx } = await setup(t)
  const data = randomBytes(9 * 1024 * 1024 + 123)
  const expected = referenceContentHash(data)
  t.equal(contentHash(data), expected)
  t.equal(contentHash(Buffer.alloc(0)), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  const streamed = new ContentHasher()
  for (let offset = 0; offset < data.length; offset += 1_000_003) streamed.update(data.subarray(offset, offset + 1_000_003))
  t.equal(streamed.digest(), expected, 'chunking does not change the hash')

  const { session_id: sessionId } = (await dbx.filesUploadSessionStart({ contents: data.subarray(0, 5_000_000) })).result
  const finished = await dbx.filesUploadSessionFinish({
    cursor: { session_id: sessionId, offset: 5_000_000 }, commit: { path: '/large.bin' }, contents: data.subarray(5_000_000)
  })
  t.equal(finished.result.content_hash, expected)

  const mismatch = await failure(dbx.filesUpload({ path: '/m.jpg', contents: Buffer.from('abc'), content_hash: '0'.repeat(64) }))
  t.equal(mismatch.error.error['.tag'], 'content_hash_mismatch')

  emulator.configure({ corruptNextUploads: 1 })
  const sent = randomBytes(1000)
  const corrupted = (await dbx.filesUpload({ path: '/c.jpg', contents: sent })).result
  t.not(corrupted.content_hash, contentHash(sent), 'the returned hash exposes the corruption')
  const stored = await emulator.readFile('/c.jpg')
  t.equal(contentHash(stored), corrupted.content_hash)
  t.equal([...stored].filter((byte, i) => byte !== sent[i]).length, 1)
})

t.test('429 too_many_requests and too_many_write_operations, always with Retry-After', async (t) => {
  const { emulator, dbx } = await setup(t)
  await dbx.filesListFolder({ path: '' }) // a token first, so the bursts below are API calls only
  emulator.configure({ rateLimit: { requestsPerSecond: 2, retryAfterSeconds: 3 } })
  const listed = await Promise.allSettled(Array.from({ length: 5 }, () => dbx.filesListFolder({ path: '' })))
  const limited = listed.flatMap((r) => (r.status === 'rejected' ? [r.reason as DropboxResponseError<ErrorBody>] : []))
  t.equal(limited.length, 3)
  for (const e of limited) {
    t.equal(e.status, 429)
    t.equal(e.headers.get('retry-after'), '3')
    t.same(e.error.error, { reason: { '.tag': 'too_many_requests' }, retry_after: 3 })
  }
  t.equal(emulator.counters.tooManyRequests, 3)

  emulator.configure({ rateLimit: null, writeContention: { maxConcurrentCommits: 1, retryAfterSeconds: 2 }, latencyMs: 100 })
  const uploads = await Promise.allSettled([1, 2, 3].map((i) => dbx.filesUpload({ path: `/c${i}.jpg`, contents: Buffer.from(`c${i}`) })))
  const contended = uploads.flatMap((r) => (r.status === 'rejected' ? [r.reason as DropboxResponseError<ErrorBody>] : []))
  t.equal(contended.length, 2, 'one commit holds the namespace lock')
  for (const e of contended) {
    t.equal(e.status, 429)
    t.equal(e.headers.get('retry-after'), '2')
    t.match(e.error, { error_summary: /^too_many_write_operations\//, error: { reason: { '.tag': 'too_many_write_operations' }, retry_after: 2 } })
  }
  const sessions = await Promise.all([1, 2, 3].map((i) => dbx.filesUploadSessionStart({ close: true, contents: Buffer.from(`s${i}`) })))
  t.equal(sessions.length, 3, 'session uploads carry bytes only and take no lock')
  t.equal(emulator.counters.tooManyWriteOperations, 2)
})

t.test('5xx burst, latency, per-call size limit', async (t) => {
  const { emulator, dbx } = await setup(t)
  await dbx.filesListFolder({ path: '' })
  emulator.configure({ serverErrors: { remaining: 2, status: 503 } })
  for (let i = 0; i < 2; i++) {
    const e = await failure(dbx.filesListFolder({ path: '' }))
    t.equal(e.status, 503)
    t.type(e.error, 'string')
  }
  t.equal((await dbx.filesListFolder({ path: '' })).status, 200)
  t.equal(emulator.counters.serverErrors, 2)

  emulator.configure({ latencyMs: 120 })
  const started = performance.now()
  await dbx.filesListFolder({ path: '' })
  t.ok(performance.now() - started >= 115, 'latency is added to the call')
  emulator.configure({ latencyMs: 0, maxUploadBytesPerCall: 1024 })

  const tooLarge = await failure(dbx.filesUpload({ path: '/big.jpg', contents: randomBytes(2048) }))
  t.same(tooLarge.error.error, { '.tag': 'payload_too_large' })
  const head = randomBytes(1000)
  const tail = randomBytes(1000)
  const { session_id: sessionId } = (await dbx.filesUploadSessionStart({ contents: head })).result
  const chunkTooLarge = await failure(dbx.filesUploadSessionAppendV2({ cursor: { session_id: sessionId, offset: 1000 }, contents: randomBytes(2000) }))
  t.equal(chunkTooLarge.error.error['.tag'], 'payload_too_large')
  await dbx.filesUploadSessionAppendV2({ cursor: { session_id: sessionId, offset: 1000 }, contents: tail })
  const finished = await dbx.filesUploadSessionFinish({ cursor: { session_id: sessionId, offset: 2000 }, commit: { path: '/big.jpg' } })
  t.equal(finished.result.content_hash, contentHash(Buffer.concat([head, tail])), 'a rejected chunk leaves the session intact')
})

t.test('list_folder paging, get_metadata, delete_v2, download', async (t) => {
  const { dbx } = await setup(t)
  for (const name of ['e', 'a', 'd', 'b', 'c']) await dbx.filesUpload({ path: `/Phones/+1/${name}.jpg`, contents: Buffer.from(name) })
  await dbx.filesUpload({ path: '/Phones/+2/z.jpg', contents: Buffer.from('z') })

  let page = (await dbx.filesListFolder({ path: '/phones/+1', limit: 2 })).result
  const names = page.entries.map((e) => e.name)
  t.equal(page.has_more, true)
  while (page.has_more) {
    page = (await dbx.filesListFolderContinue({ cursor: page.cursor })).result
    names.push(...page.entries.map((e) => e.name))
  }
  t.same(names, ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg', 'e.jpg'])
  const everything = (await dbx.filesListFolder({ path: '', recursive: true })).result.entries
  t.same(everything.map((e) => `${e['.tag']} ${e.path_display}`).slice(0, 3), ['folder /Phones', 'folder /Phones/+1', 'file /Phones/+1/a.jpg'])
  t.equal(everything.length, 9)

  t.match((await dbx.filesGetMetadata({ path: '/PHONES/+2' })).result, { '.tag': 'folder', path_display: '/Phones/+2' })
  const notFound = await failure(dbx.filesGetMetadata({ path: '/phones/+3' }))
  t.same(notFound.error.error, { '.tag': 'path', path: { '.tag': 'not_found' } })
  const notFolder = await failure(dbx.filesListFolder({ path: '/phones/+2/z.jpg' }))
  t.equal(notFolder.error.error.path['.tag'], 'not_folder')
  t.equal((await failure(dbx.filesListFolder({ path: '/' }))).status, 400, 'the root is "", not "/"')

  t.same((await dbx.filesDownload({ path: '/phones/+1/c.jpg' })).result.name, 'c.jpg')
  t.match((await dbx.filesDeleteV2({ path: '/phones/+1/c.jpg' })).result.metadata, { '.tag': 'file', name: 'c.jpg' })
  const gone = await failure(dbx.filesDeleteV2({ path: '/phones/+1/c.jpg' }))
  t.same(gone.error.error, { '.tag': 'path_lookup', path_lookup: { '.tag': 'not_found' } })
  await dbx.filesDeleteV2({ path: '/phones' })
  t.same((await dbx.filesListFolder({ path: '' })).result.entries, [])
})

t.test('counters and the HTTP control routes', async (t) => {
  const { emulator, dbx } = await setup(t)
  await dbx.filesUpload({ path: '/a.jpg', contents: Buffer.from('a') })
  await dbx.filesUpload({ path: '/a.jpg', contents: Buffer.from('a') })
  t.match(emulator.counters, { calls: { 'oauth2/token': 1, 'files/upload': 2 }, commits: 2, filesWritten: 1, tokensIssued: 1 })

  const counters = await (await fetch(`${emulator.url}/__emulator/counters`)).json()
  t.match(counters, { calls: { 'files/upload': 2 }, commits: 2 })
  const configured = await fetch(`${emulator.url}/__emulator/configure`, { method: 'POST', body: JSON.stringify({ latencyMs: 5, writeContention: { maxConcurrentCommits: 4, retryAfterSeconds: 1 } }) })
  t.equal(configured.status, 200)
  t.match(emulator.faults(), { latencyMs: 5, writeContention: { maxConcurrentCommits: 4 } })
  const typo = await fetch(`${emulator.url}/__emulator/configure`, { method: 'POST', body: JSON.stringify({ latency: 5 }) })
  t.equal(typo.status, 400, 'an unknown fault is refused')
  await (await fetch(`${emulator.url}/__emulator/reset`, { method: 'POST' })).text()
  t.match(emulator.counters, { calls: {}, commits: 0, filesWritten: 0 })
  t.same(Object.keys(emulator.counters.calls), [])
  t.same(emulator.files().map((f) => f.path_display), ['/a.jpg'])
})

t.test('the CLI prints its address and stops on SIGTERM', async (t) => {
  const cli = fileURLToPath(new URL('./dropbox-emulator/cli.ts', import.meta.url))
  const child = spawn(process.execPath, [cli, '--latency-ms', '3', '--write-contention', '2:1'], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const [line] = await once(createInterface({ input: child.stdout }), 'line') as [string]
  const info = JSON.parse(line) as { url: string, appKey: string, faults: Record<string, unknown> }
  t.match(info, { url: /^http:\/\/127\.0\.0\.1:\d+$/, appKey: 'test-key', faults: { latencyMs: 3, writeContention: { maxConcurrentCommits: 2, retryAfterSeconds: 1 } } })
  t.equal((await fetch(`${info.url}/__emulator/counters`)).status, 200)
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit') as [number | null]
  t.equal(code, 0)
})

// ---- change tracking: list_folder cursors, outside changes, webhooks ----

type Listed = files.ListFolderResult['entries'][number]

// "file /Phones/+1/a.jpg", "deleted /Phones/+1/b.jpg": what a change list says, in its order.
function described (entries: Listed[]): string[] {
  return entries.map((entry) => `${entry['.tag']} ${entry.path_display ?? '?'}`)
}

interface Drained {
  entries: Listed[]
  cursor: string
  pages: number[] // entries per page
}

// Follows has_more to the end, as a sync does.
async function drain (dbx: Dropbox, first: files.ListFolderResult): Promise<Drained> {
  let page = first
  const entries = [...page.entries]
  const pages = [page.entries.length]
  while (page.has_more) {
    page = (await dbx.filesListFolderContinue({ cursor: page.cursor })).result
    entries.push(...page.entries)
    pages.push(page.entries.length)
  }
  return { entries, cursor: page.cursor, pages }
}

async function listAll (dbx: Dropbox, arg: files.ListFolderArg): Promise<Drained> {
  return drain(dbx, (await dbx.filesListFolder(arg)).result)
}

async function changesSince (dbx: Dropbox, cursor: string): Promise<Drained> {
  return drain(dbx, (await dbx.filesListFolderContinue({ cursor })).result)
}

async function seedPhones (dbx: Dropbox): Promise<void> {
  for (const name of ['a', 'b', 'c']) await dbx.filesUpload({ path: `/Phones/+1/${name}.jpg`, contents: Buffer.from(name) })
  await dbx.filesUpload({ path: '/Phones/+2/z.jpg', contents: Buffer.from('z') })
}

t.test('list_folder: the first listing paged with limit, recursive or not, a consistent snapshot', async (t) => {
  const { emulator, dbx } = await setup(t)
  await seedPhones(dbx)
  await emulator.addFile('/top.jpg', 'top')

  const recursive = await listAll(dbx, { path: '', recursive: true, limit: 2 })
  t.same(described(recursive.entries), [
    'folder /Phones', 'folder /Phones/+1', 'file /Phones/+1/a.jpg', 'file /Phones/+1/b.jpg', 'file /Phones/+1/c.jpg',
    'folder /Phones/+2', 'file /Phones/+2/z.jpg', 'file /top.jpg'
  ], 'parents come before their children')
  t.same(recursive.pages, [2, 2, 2, 2], 'limit is honoured exactly')
  t.match(emulator.counters.calls, { 'files/list_folder': 1, 'files/list_folder/continue': 3 })
  t.equal(emulator.counters.listFolderEntries, 8)
  t.match(recursive.entries[2], { '.tag': 'file', name: 'a.jpg', path_lower: '/phones/+1/a.jpg', id: /^id:/, rev: /^[0-9a-f]{9,}$/, size: 1, content_hash: contentHash(Buffer.from('a')) })

  t.same(described((await listAll(dbx, { path: '' })).entries), ['folder /Phones', 'file /top.jpg'], 'the root without recursive: its direct children')
  t.same(described((await listAll(dbx, { path: '/PHONES/+1' })).entries), ['file /Phones/+1/a.jpg', 'file /Phones/+1/b.jpg', 'file /Phones/+1/c.jpg'])
  t.same(described((await listAll(dbx, { path: '/phones', recursive: true })).entries).slice(0, 2), ['folder /Phones', 'folder /Phones/+1'],
    'a recursive listing of a folder starts with the folder')

  // Changes between pages do not disturb the listing being paged: they come with the next continue.
  let page = (await dbx.filesListFolder({ path: '/phones/+1', limit: 1 })).result
  const firstPass = [...page.entries]
  await emulator.addFile('/Phones/+1/0-new.jpg', 'new') // sorts before everything already listed
  await emulator.deletePath('/Phones/+1/c.jpg') // not listed yet
  while (page.has_more) {
    page = (await dbx.filesListFolderContinue({ cursor: page.cursor })).result
    firstPass.push(...page.entries)
  }
  t.same(described(firstPass), ['file /Phones/+1/a.jpg', 'file /Phones/+1/b.jpg', 'file /Phones/+1/c.jpg'])
  t.same(described((await changesSince(dbx, page.cursor)).entries), ['file /Phones/+1/0-new.jpg', 'deleted /Phones/+1/c.jpg'])

  const notFolder = await failure(dbx.filesListFolder({ path: '/top.jpg' }))
  t.same(notFolder.error.error, { '.tag': 'path', path: { '.tag': 'not_folder' } })
})

t.test('list_folder/continue: exactly the changes from outside and through the API', async (t) => {
  const { emulator, dbx } = await setup(t)
  await seedPhones(dbx)
  const start = await listAll(dbx, { path: '', recursive: true })
  const idOfC = (start.entries.find((e) => e.path_lower === '/phones/+1/c.jpg') as files.FileMetadataReference).id
  const quiet = (await dbx.filesListFolderContinue({ cursor: start.cursor })).result
  t.same([quiet.entries, quiet.has_more], [[], false], 'nothing changed, nothing listed')

  const added = await emulator.addFile('/Phones/+1/New.jpg', 'dropped in from the Dropbox app')
  emulator.deletePath('/phones/+1/b.jpg')
  const moved = emulator.movePath('/Phones/+1/c.jpg', '/Phones/+2/c renamed.jpg')
  const changes = await changesSince(dbx, quiet.cursor)
  t.same(described(changes.entries), [
    'file /Phones/+1/New.jpg', 'deleted /Phones/+1/b.jpg', 'deleted /Phones/+1/c.jpg', 'file /Phones/+2/c renamed.jpg'
  ])
  t.same(changes.entries[0], added, 'the listed metadata is what addFile returned')
  t.same(changes.entries[1], { '.tag': 'deleted', name: 'b.jpg', path_lower: '/phones/+1/b.jpg', path_display: '/Phones/+1/b.jpg' },
    'a deleted entry carries only its name and paths')
  t.match(changes.entries[3], { id: idOfC, name: 'c renamed.jpg' }, 'a move keeps the id')
  t.equal(moved.id, idOfC)
  t.same((await changesSince(dbx, changes.cursor)).entries, [], 'a cursor moves past what it reported')

  // The same kinds of change through the API.
  const before = changes.cursor
  await dbx.filesUpload({ path: '/Phones/+1/a.jpg', contents: Buffer.from('edited'), mode: { '.tag': 'overwrite' } })
  await dbx.filesUpload({ path: '/Phones/+1/a.jpg', contents: Buffer.from('edited'), mode: { '.tag': 'overwrite' } }) // identical: no change
  const viaApi = (await dbx.filesMoveV2({ from_path: '/Phones/+2/z.jpg', to_path: '/Phones/+3/z.jpg' })).result.metadata
  t.match(viaApi, { '.tag': 'file', path_display: '/Phones/+3/z.jpg' })
  await dbx.filesDeleteV2({ path: '/Phones/+1/New.jpg' })
  await emulator.addFile('/Phones/+1/brief.jpg', 'x')
  emulator.deletePath('/Phones/+1/brief.jpg')
  t.same(described((await changesSince(dbx, before)).entries), [
    'file /Phones/+1/a.jpg', 'deleted /Phones/+2/z.jpg', 'folder /Phones/+3', 'file /Phones/+3/z.jpg', 'deleted /Phones/+1/New.jpg',
    'deleted /Phones/+1/brief.jpg' // created and deleted since the cursor: reported as deleted
  ])

  // A deleted folder is one deleted entry; a cursor on that folder itself gets a path error.
  const folderCursor = (await dbx.filesListFolder({ path: '/phones/+1' })).result.cursor
  const rootBefore = (await listAll(dbx, { path: '', recursive: true })).cursor
  emulator.deletePath('/Phones/+1')
  t.same(described((await changesSince(dbx, rootBefore)).entries), ['deleted /Phones/+1'])
  const gone = await failure(dbx.filesListFolderContinue({ cursor: folderCursor }))
  t.equal(gone.status, 409)
  t.same(gone.error.error, { '.tag': 'path', path: { '.tag': 'not_found' } })

  // continue pages with the cursor's limit too.
  const paged = (await dbx.filesListFolder({ path: '', recursive: true, limit: 2 })).result
  const rest = await drain(dbx, paged)
  for (let i = 0; i < 5; i++) await emulator.addFile(`/Phones/+4/${i}.jpg`, String(i))
  const fivePlus = await changesSince(dbx, rest.cursor)
  t.same(fivePlus.pages, [2, 2, 2])
  t.same(described(fivePlus.entries), ['folder /Phones/+4', ...[0, 1, 2, 3, 4].map((i) => `file /Phones/+4/${i}.jpg`)])
})

t.test('get_latest_cursor: only later changes; non-recursive cursors see direct children only', async (t) => {
  const { emulator, dbx } = await setup(t)
  await seedPhones(dbx)
  const latest = (await dbx.filesListFolderGetLatestCursor({ path: '/Phones/+1' })).result
  t.same(Object.keys(latest), ['cursor'], 'a cursor and no entries')
  const latestRecursive = (await dbx.filesListFolderGetLatestCursor({ path: '', recursive: true })).result.cursor
  t.same((await changesSince(dbx, latest.cursor)).entries, [], 'nothing that existed before')

  await emulator.addFile('/Phones/+1/d.jpg', 'd')
  await emulator.addFile('/Phones/+1/deeper/e.jpg', 'e')
  await emulator.addFile('/Phones/+2/y.jpg', 'y')
  t.same(described((await changesSince(dbx, latest.cursor)).entries), ['file /Phones/+1/d.jpg', 'folder /Phones/+1/deeper'])
  t.same(described((await changesSince(dbx, latestRecursive)).entries), [
    'file /Phones/+1/d.jpg', 'folder /Phones/+1/deeper', 'file /Phones/+1/deeper/e.jpg', 'file /Phones/+2/y.jpg'
  ])
  const missing = await failure(dbx.filesListFolderGetLatestCursor({ path: '/nowhere' }))
  t.same(missing.error.error, { '.tag': 'path', path: { '.tag': 'not_found' } })
})

t.test('cursor reset: forced by the emulator, and for cursors it never issued', async (t) => {
  const { emulator, dbx } = await setup(t)
  await seedPhones(dbx)
  const old = (await listAll(dbx, { path: '', recursive: true })).cursor
  const paging = (await dbx.filesListFolder({ path: '', recursive: true, limit: 1 })).result.cursor
  emulator.resetCursors()
  for (const cursor of [old, paging]) {
    const reset = await failure(dbx.filesListFolderContinue({ cursor }))
    t.equal(reset.status, 409)
    t.same(reset.error.error, { '.tag': 'reset' })
    t.match(reset.error.error_summary, /^reset\//)
  }
  const fresh = await listAll(dbx, { path: '', recursive: true })
  t.equal(fresh.entries.length, 7, 'listing again from the start works')
  await emulator.addFile('/after.jpg', 'after')
  t.same(described((await changesSince(dbx, fresh.cursor)).entries), ['file /after.jpg'])

  const made = await failure(dbx.filesListFolderContinue({ cursor: 'AAFmadeUpCursor' }))
  t.same(made.error.error, { '.tag': 'reset' })
  const other = await setup(t)
  const foreign = (await other.dbx.filesListFolderGetLatestCursor({ path: '' })).result.cursor
  t.same((await failure(dbx.filesListFolderContinue({ cursor: foreign }))).error.error, { '.tag': 'reset' }, 'another emulator\'s cursor')

  const overHttp = await fetch(`${emulator.url}/__emulator/reset-cursors`, { method: 'POST' })
  t.equal(overHttp.status, 200)
  await overHttp.arrayBuffer()
  t.same((await failure(dbx.filesListFolderContinue({ cursor: fresh.cursor }))).error.error, { '.tag': 'reset' })
  t.equal(emulator.counters.cursorResets, 5)
})

t.test('move_v2: errors, autorename, case-only rename, folders, links follow', async (t) => {
  const { emulator, dbx } = await setup(t)
  await seedPhones(dbx)
  const link = (await dbx.sharingCreateSharedLinkWithSettings({ path: '/Phones/+1/a.jpg' })).result

  const missing = await failure(dbx.filesMoveV2({ from_path: '/nope.jpg', to_path: '/x.jpg' }))
  t.same(missing.error.error, { '.tag': 'from_lookup', from_lookup: { '.tag': 'not_found' } })
  const taken = await failure(dbx.filesMoveV2({ from_path: '/Phones/+1/a.jpg', to_path: '/phones/+1/B.jpg' }))
  t.match(taken.error, { error_summary: /^to\/conflict\/file\//, error: { '.tag': 'to', to: { '.tag': 'conflict', conflict: { '.tag': 'file' } } } })
  const intoItself = await failure(dbx.filesMoveV2({ from_path: '/Phones', to_path: '/Phones/+1/inside' }))
  t.same(intoItself.error.error, { '.tag': 'cant_move_folder_into_itself' })
  const badName = await failure(dbx.filesMoveV2({ from_path: '/Phones/+1/a.jpg', to_path: '/Phones/+1/desktop.ini' }))
  t.same(badName.error.error, { '.tag': 'to', to: { '.tag': 'disallowed_name' } })

  const renamed = (await dbx.filesMoveV2({ from_path: '/Phones/+1/a.jpg', to_path: '/Phones/+1/b.jpg', autorename: true })).result.metadata
  t.equal(renamed.path_display, '/Phones/+1/b (1).jpg')
  const caseOnly = (await dbx.filesMoveV2({ from_path: '/Phones/+1/b (1).jpg', to_path: '/Phones/+1/B (1).JPG' })).result.metadata
  t.equal(caseOnly.path_display, '/Phones/+1/B (1).JPG')
  t.equal((await emulator.download(link.url.replace('dl=0', 'raw=1'))).status, 200, 'the shared link follows the file')

  const before = (await dbx.filesListFolderGetLatestCursor({ path: '', recursive: true })).result.cursor
  const folder = (await dbx.filesMoveV2({ from_path: '/Phones/+2', to_path: '/Archive/+2' })).result.metadata
  t.match(folder, { '.tag': 'folder', path_display: '/Archive/+2' })
  t.same(described((await changesSince(dbx, before)).entries), ['deleted /Phones/+2', 'folder /Archive', 'folder /Archive/+2', 'file /Archive/+2/z.jpg'])
  t.same(await emulator.readFile('/archive/+2/z.jpg'), Buffer.from('z'))
  t.equal(emulator.counters.commits, 4 + 3, 'a move is a commit')

  t.throws(() => emulator.movePath('/nope', '/x'), OutsideChangeError)
  try {
    emulator.deletePath('/nope')
  } catch (error) {
    t.same((error as OutsideChangeError).error, { '.tag': 'path_lookup', path_lookup: { '.tag': 'not_found' } })
  }
})

interface Notification {
  body: string
  signature: string | undefined
  contentType: string | undefined
}

// A webhook endpoint on a free port: next() resolves with the next notification it receives.
async function webhookReceiver (t: Test, status = 200): Promise<{ url: string, next: () => Promise<Notification>, received: Notification[] }> {
  const received: Notification[] = []
  const waiting: Array<(notification: Notification) => void> = []
  let delivered = 0
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const signature = req.headers['x-dropbox-signature']
      const notification = {
        body: Buffer.concat(chunks).toString('utf8'),
        signature: Array.isArray(signature) ? signature[0] : signature,
        contentType: req.headers['content-type']
      }
      received.push(notification)
      res.writeHead(status).end()
      const resolve = waiting.shift()
      if (resolve) {
        delivered++
        resolve(notification)
      }
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections() }))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/dropbox-webhook`,
    received,
    next: () => {
      const queued = received[delivered]
      if (queued) {
        delivered++
        return Promise.resolve(queued)
      }
      return new Promise((resolve) => waiting.push(resolve))
    }
  }
}

function validSignature (notification: Notification, appSecret: string): boolean {
  const expected = Buffer.from(createHmac('sha256', appSecret).update(notification.body).digest('hex'))
  const given = Buffer.from(notification.signature ?? '')
  return given.length === expected.length && timingSafeEqual(given, expected)
}

t.test('webhook: one signed notification per burst of changes, on demand, forged, failures counted', async (t) => {
  const receiver = await webhookReceiver(t)
  const { emulator, dbx } = await setup(t, { webhook: { url: receiver.url, appSecret: 'webhook-secret', debounceMs: 200 } })

  await emulator.addFile('/Phones/+1/a.jpg', 'a')
  await emulator.addFile('/Phones/+1/b.jpg', 'b')
  emulator.movePath('/Phones/+1/b.jpg', '/Phones/+1/c.jpg')
  const first = await receiver.next()
  t.ok(validSignature(first, 'webhook-secret'), 'X-Dropbox-Signature is the HMAC-SHA256 of the raw body')
  t.same(JSON.parse(first.body), { list_folder: { accounts: [emulator.accountId] }, delta: { users: [emulator.userId] } })
  t.equal(first.contentType, 'application/json')
  t.match(emulator.accountId, /^dbid:/)

  t.same(await emulator.sendWebhook(), { ok: true, status: 200 })
  t.equal(receiver.received.length, 2, 'the burst of three changes made one notification')
  t.ok(validSignature(await receiver.next(), 'webhook-secret'))

  const forged = await emulator.sendForgedWebhook()
  t.equal(forged.ok, true, 'this receiver accepts anything; a real one must refuse it')
  const forgedNotification = await receiver.next()
  t.notOk(validSignature(forgedNotification, 'webhook-secret'))
  t.equal(forgedNotification.body, first.body)

  await dbx.filesUpload({ path: '/via-api.jpg', contents: Buffer.from('api') })
  t.ok(validSignature(await receiver.next(), 'webhook-secret'), 'API changes notify too')

  const failing = await webhookReceiver(t, 500)
  emulator.configureWebhook({ url: failing.url })
  t.same(await emulator.sendWebhook(), { ok: false, status: 500, error: 'HTTP 500' })
  emulator.configureWebhook({ url: 'http://127.0.0.1:1/nobody-listens' })
  const refused = await emulator.sendWebhook()
  t.match(refused, { ok: false, error: /fetch failed/ })
  t.equal(emulator.counters.webhookFailures, 2, 'failures are counted, not thrown')
  t.ok(emulator.counters.webhooksDelivered >= 2)

  emulator.configureWebhook({ url: null })
  await t.rejects(emulator.sendWebhook(), /no webhook URL/)
})

t.test('outside changes and webhook controls over HTTP', async (t) => {
  const receiver = await webhookReceiver(t)
  const { emulator, dbx } = await setup(t)
  const control = async (path: string, init: RequestInit = {}): Promise<{ status: number, body: unknown }> => {
    const res = await fetch(`${emulator.url}/__emulator/${path}`, { method: 'POST', ...init })
    const text = await res.text()
    return { status: res.status, body: res.headers.get('content-type') === 'application/json' ? JSON.parse(text) : text }
  }
  const cursor = (await dbx.filesListFolderGetLatestCursor({ path: '', recursive: true })).result.cursor

  const bytes = randomBytes(3000)
  const query = (params: Record<string, string>): string => new URLSearchParams(params).toString()
  const added = await control(`add-file?${query({ path: '/Phones/+9/Dropped.jpg' })}`, { body: bytes })
  t.match(added, { status: 200, body: { '.tag': 'file', path_display: '/Phones/+9/Dropped.jpg', size: 3000, content_hash: contentHash(bytes) } })
  t.same(await emulator.readFile('/phones/+9/dropped.jpg'), bytes)
  const conflict = await control(`add-file?${query({ path: '/Phones/+9/Dropped.jpg', mode: 'add' })}`, { body: 'other' })
  t.match(conflict, { status: 409, body: { error: { '.tag': 'path', reason: { '.tag': 'conflict' } } } })
  t.match(await control('add-folder', { body: JSON.stringify({ path: '/Phones/+8' }) }), { status: 200, body: { '.tag': 'folder' } })
  t.match(await control('move', { body: JSON.stringify({ from_path: '/Phones/+9/Dropped.jpg', to_path: '/Phones/+8/Moved.jpg' }) }),
    { status: 200, body: { path_display: '/Phones/+8/Moved.jpg' } })
  t.match(await control('delete', { body: JSON.stringify({ path: '/Phones/+8/Moved.jpg' }) }), { status: 200, body: { '.tag': 'file' } })
  t.match(await control('delete', { body: JSON.stringify({ path: '/Phones/+8/Moved.jpg' }) }),
    { status: 409, body: { error_summary: /^path_lookup\/not_found\//, error: { '.tag': 'path_lookup' } } })
  t.equal((await control('delete', { body: '{"path": 1}' })).status, 400)
  t.same(described((await changesSince(dbx, cursor)).entries), [
    'folder /Phones', 'folder /Phones/+9', 'folder /Phones/+8', 'deleted /Phones/+9/Dropped.jpg', 'deleted /Phones/+8/Moved.jpg'
  ])

  t.equal((await control('send-webhook')).status, 400, 'no URL configured yet')
  const configured = await control('webhook', { body: JSON.stringify({ url: receiver.url, appSecret: 'over-http' }) })
  t.same(configured, { status: 200, body: { url: receiver.url, appSecret: 'over-http', debounceMs: 50 } })
  t.equal((await control('webhook', { body: JSON.stringify({ urll: 'x' }) })).status, 400, 'a misspelt setting is refused')
  t.same(await control('send-webhook'), { status: 200, body: { ok: true, status: 200 } })
  t.ok(validSignature(await receiver.next(), 'over-http'))
  t.same(await control('send-forged-webhook'), { status: 200, body: { ok: true, status: 200 } })
  t.notOk(validSignature(await receiver.next(), 'over-http'))
  t.match(await (await fetch(`${emulator.url}/__emulator/counters`)).json(), { webhooksDelivered: 1, webhookFailures: 0, listFolderEntries: 5 })
})

t.test('10,000 files in 500 folders, listed completely through paging', async (t) => {
  const { emulator, dbx } = await setup(t)
  const expected = new Set<string>()
  for (let folder = 0; folder < 500; folder += 50) {
    const adds: Array<Promise<unknown>> = []
    for (let f = folder; f < folder + 50; f++) {
      for (let i = 0; i < 20; i++) {
        const path = `/phones/+1555${String(f).padStart(4, '0')}/photo-${i}.jpg`
        expected.add(path)
        adds.push(emulator.addFile(path, `${f}/${i}`))
      }
    }
    await Promise.all(adds)
  }
  await dbx.filesListFolder({ path: '', limit: 1 }) // the token first, so the timing below is the listing
  emulator.counters.reset()

  const started = performance.now()
  const all = await listAll(dbx, { path: '', recursive: true, limit: 1000 })
  const elapsed = performance.now() - started
  const filesListed = all.entries.filter((e) => e['.tag'] === 'file').map((e) => e.path_lower)
  t.equal(filesListed.length, 10_000)
  t.same(new Set(filesListed), expected, 'every file exactly once')
  t.equal(all.entries.filter((e) => e['.tag'] === 'folder').length, 501, '/phones and its 500 folders')
  t.equal(all.pages.length, 11)
  t.ok(all.pages.slice(0, -1).every((n) => n === 1000))
  t.match(emulator.counters, { calls: { 'files/list_folder': 1, 'files/list_folder/continue': 10 }, listFolderEntries: 10_501 })
  t.ok(elapsed < 10_000, `listed in ${Math.round(elapsed)} ms`)

  await emulator.addFile('/phones/+15550001/late.jpg', 'late')
  t.same(described((await changesSince(dbx, all.cursor)).entries), ['file /phones/+15550001/late.jpg'])
})
