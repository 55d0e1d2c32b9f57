import { Dropbox } from 'dropbox'
import t, { type Test } from 'tap'
import { redirectingFetch } from '../../../src/storage/dropbox/fetch.ts'
import { createStorage } from '../../../src/storage/index.ts'
import { build, startWorker } from '../../helpers/build.ts'
import { testEnv } from '../../helpers/config.ts'
import { dropboxEmulator } from '../../helpers/dropbox.ts'
import { randomPng } from '../../helpers/images.ts'
import { uploadForm } from '../../helpers/multipart.ts'
import type { DropboxEmulator, Faults } from '../../support/dropbox-emulator/index.ts'

const MiB = 1024 * 1024

interface Setup {
  faults?: Partial<Faults>
  env?: Record<string, string>
}

/** API + worker + emulator with the given faults. */
async function service (t: Test, { faults = {}, env = {} }: Setup = {}) {
  const { emulator, env: dropboxEnv } = await dropboxEmulator(t, faults)
  const { config } = await testEnv(t, { ...dropboxEnv, ...env })
  const app = await build(t, config)
  await startWorker(t, config)
  return { app, emulator }
}

/**
 * Uploads `count` images in one request per `perRequest` files, all requests at once, and checks
 * every answer and every stored byte through the returned raw URLs.
 */
async function uploadAndVerify (t: Test, app: Awaited<ReturnType<typeof service>>['app'], emulator: DropboxEmulator, count: number, { perRequest = 1, size = 3000, phone = '5551234' } = {}) {
  const images = Array.from({ length: count }, () => randomPng(size))
  const requests = []
  for (let i = 0; i < count; i += perRequest) {
    const files = images.slice(i, i + perRequest).map((content, j) => ({ filename: `img${i + j}.png`, content }))
    requests.push(app.inject({ method: 'POST', url: '/api/upload/', ...uploadForm(phone, files) }))
  }
  const responses = await Promise.all(requests)
  const results = responses.flatMap(res => {
    t.equal(res.statusCode, 200, res.statusCode === 200 ? 'uploaded' : res.body)
    return res.statusCode === 200 ? res.json().results : []
  })
  t.equal(results.length, count, 'every image answered')
  for (const [i, result] of results.entries()) {
    const download = await emulator.download(result.image_url)
    t.same(Buffer.from(await download.arrayBuffer()), images[i], `bytes of image ${i} behind its raw URL`)
  }
  t.equal(emulator.files().filter(f => f.path_lower.startsWith(`/${phone}/`)).length, count, 'one file per image, no duplicates')
  const docs = await app.db.images.countDocuments({ phone_number: phone })
  t.equal(docs, count, 'one record per image')
  return results
}

t.test('concurrent calls on a fresh client share one token refresh', async t => {
  const { app, emulator } = await service(t)
  await uploadAndVerify(t, app, emulator, 8, { perRequest: 8 })
  t.equal(emulator.counters.tokensIssued, 1)
})

t.test('an access token that expires server-side mid-run is refreshed and the call retried', async t => {
  const { app, emulator } = await service(t)
  await uploadAndVerify(t, app, emulator, 2, { phone: '111' })
  emulator.expireAccessTokens()
  await uploadAndVerify(t, app, emulator, 4, { phone: '222' })
  t.equal(emulator.counters.tokensIssued, 2, 'one refresh after the expiry')
})

t.test('a storm of 429 too_many_requests is waited out with Retry-After', async t => {
  const { app, emulator } = await service(t, { faults: { rateLimit: { requestsPerSecond: 8, retryAfterSeconds: 1 } } })
  await uploadAndVerify(t, app, emulator, 12)
  t.ok(emulator.counters.tooManyRequests > 0, `429s were sent (${emulator.counters.tooManyRequests})`)
})

t.test('write contention (429 too_many_write_operations) with one files/upload per job', async t => {
  const { app, emulator } = await service(t, {
    faults: { writeContention: { maxConcurrentCommits: 1, retryAfterSeconds: 1 }, latencyMs: 20 },
    env: { DROPBOX_UPLOAD_STRATEGY: 'single' }
  })
  await uploadAndVerify(t, app, emulator, 8)
  t.ok(emulator.counters.tooManyWriteOperations > 0, `contention was hit (${emulator.counters.tooManyWriteOperations})`)
})

t.test('write contention with batched commits: one commit at a time, no 429', async t => {
  const { app, emulator } = await service(t, { faults: { writeContention: { maxConcurrentCommits: 1, retryAfterSeconds: 1 }, latencyMs: 20 } })
  await uploadAndVerify(t, app, emulator, 12)
  t.equal(emulator.counters.tooManyWriteOperations, 0)
  t.ok(emulator.counters.commits < 12, `fewer commits than files (${emulator.counters.commits})`)
})

t.test('a burst of plain-text 5xx is retried with backoff', async t => {
  const { app, emulator } = await service(t, { faults: { serverErrors: { remaining: 6, status: 503 } } })
  await uploadAndVerify(t, app, emulator, 3)
  t.equal(emulator.counters.serverErrors, 6)
})

t.test('a file larger than the per-call limit goes up in session chunks', async t => {
  const { app, emulator } = await service(t, {
    faults: { maxUploadBytesPerCall: 5 * MiB },
    env: { DROPBOX_CHUNK_THRESHOLD_BYTES: String(4 * MiB), DROPBOX_CHUNK_BYTES: String(4 * MiB), UPLOAD_MAX_FILE_BYTES: String(20 * MiB) }
  })
  await uploadAndVerify(t, app, emulator, 1, { size: 13 * MiB })
  t.equal(emulator.counters.calls['files/upload_session/append_v2'], 3, 'start + 3 appends of at most 4 MiB')
})

t.test('batch entries that fail with too_many_write_operations are committed again', async t => {
  const { app, emulator } = await service(t, { faults: { batchEntryFailures: 3 } })
  await uploadAndVerify(t, app, emulator, 6, { perRequest: 6 })
  t.equal(emulator.counters.batchEntryFailures, 3)
})

t.test('stored bytes that differ from the staged bytes are never recorded: removed and uploaded again', async t => {
  const { app, emulator } = await service(t, { faults: { corruptNextUploads: 1 } })
  await uploadAndVerify(t, app, emulator, 1)
  t.ok(emulator.counters.filesWritten >= 2, 'written twice: once corrupt, once right')
})

for (const withoutMetadata of [false, true]) {
  t.test(`a shared link that already exists is reused (${withoutMetadata ? 'listed' : 'from the error'})`, async t => {
    const { app, emulator } = await service(t, { faults: { sharedLinkExistsWithoutMetadata: withoutMetadata } })
    const [first] = await uploadAndVerify(t, app, emulator, 1, { phone: '333' })
    // Someone shares the file again outside the service: the link must still be the same one.
    const sdk = new Dropbox({ clientId: emulator.appKey, clientSecret: emulator.appSecret, refreshToken: emulator.refreshToken, fetch: redirectingFetch(emulator.url) })
    const path = `/333/${first.filename}`
    const refused = await sdk.sharingCreateSharedLinkWithSettings({ path }).catch((err: { status: number }) => err)
    t.equal((refused as { status: number }).status, 409, 'the link exists')
    const storage = createStorage(app.config)
    const again = await storage.publicUrl({ path, name: first.filename, size: 0, contentHash: '' })
    t.equal(again, first.image_url)
    t.ok(withoutMetadata ? emulator.counters.calls['sharing/list_shared_links'] : !emulator.counters.calls['sharing/list_shared_links'])
  })
}
