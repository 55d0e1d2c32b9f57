import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Dropbox, DropboxAuth, DropboxResponseError } from 'dropbox'
import t, { type Test } from 'tap'
import { redirectingFetch } from '../../src/storage/dropbox/fetch.ts'
import {
  ContentHasher, contentHash, startDropboxEmulator, type DropboxEmulator, type EmulatorOptions
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
