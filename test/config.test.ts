import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.ts'

t.test('defaults give a runnable local setup', async t => {
  const config = loadConfig({})
  t.equal(config.port, 3000)
  t.equal(config.storage, 'local')
  t.equal(config.dropbox, undefined)
  t.equal(config.publicBaseUrl, 'http://localhost:3000')
  t.equal(config.upload.maxFiles, 10)
})

t.test('Dropbox credentials switch storage to Dropbox', async t => {
  const config = loadConfig({ DROPBOX_APP_KEY: 'k', DROPBOX_APP_SECRET: 's', DROPBOX_REFRESH_TOKEN: 'r', PUBLIC_BASE_URL: 'https://x.example/' })
  t.equal(config.storage, 'dropbox')
  t.equal(config.dropbox?.appKey, 'k')
  t.equal(config.dropbox?.strategy, 'batch')
  t.equal(config.publicBaseUrl, 'https://x.example')
  t.equal(loadConfig({ DROPBOX_APP_KEY: 'k', DROPBOX_APP_SECRET: 's', DROPBOX_REFRESH_TOKEN: 'r', STORAGE: 'local' }).storage, 'local')
})

t.test('a bad setting stops start-up with a message naming it', async t => {
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ REDIS_URL: 'localhost:6379' }, /REDIS_URL/],
    [{ MONGODB_URL: 'postgres://x' }, /MONGODB_URL/],
    [{ UPLOAD_MAX_FILES: '0' }, /UPLOAD_MAX_FILES/],
    [{ WORKER_CONCURRENCY: 'many' }, /WORKER_CONCURRENCY/],
    [{ STORAGE: 's3' }, /STORAGE/],
    [{ DROPBOX_CHUNK_BYTES: String(5 * 1024 * 1024) }, /DROPBOX_CHUNK_BYTES/],
    [{ DROPBOX_APP_KEY: 'k' }, /DROPBOX_APP_SECRET, DROPBOX_REFRESH_TOKEN must be set/],
    [{ STORAGE: 'dropbox' }, /STORAGE=dropbox needs DROPBOX_APP_KEY/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/]
  ]
  for (const [env, message] of bad) {
    t.throws(() => loadConfig(env), ConfigError, JSON.stringify(env))
    t.throws(() => loadConfig(env), { message }, JSON.stringify(env))
  }
})

t.test('recovery settings: seconds-scale defaults, validated', async t => {
  const { worker, upload } = loadConfig({})
  t.equal(worker.lockMs, 5000)
  t.equal(worker.stalledCheckMs, 3000)
  // The bound of src/worker/start-worker.ts: the first check after a kill may come two intervals later.
  t.ok(Math.max(worker.lockMs + worker.stalledCheckMs, 3 * worker.stalledCheckMs) <= 15_000, "a dead worker's jobs are taken over within 15 s")
  t.equal(worker.failedStagedRetentionMs, 7 * 24 * 3600 * 1000)
  t.equal(upload.idleTimeoutMs, 30_000)
  t.equal(loadConfig({ FAILED_STAGED_RETENTION_SECONDS: '0' }).worker.failedStagedRetentionMs, 0)
  for (const [name, value] of [['WORKER_LOCK_MS', '999'], ['WORKER_STALLED_CHECK_MS', 'soon'], ['UPLOAD_IDLE_TIMEOUT_MS', '0'], ['FAILED_STAGED_RETENTION_SECONDS', '-1'], ['FAILED_STAGED_RETENTION_SECONDS', String(15 * 24 * 3600)]]) {
    t.throws(() => loadConfig({ [name!]: value }), { message: new RegExp(name!) }, `${name}=${value}`)
  }
})

t.test('resumable uploads expire after RESUMABLE_UPLOAD_TTL seconds: a day by default', async t => {
  t.equal(loadConfig({}).upload.resumableTtlMs, 24 * 3600 * 1000)
  t.equal(loadConfig({ RESUMABLE_UPLOAD_TTL: '2' }).upload.resumableTtlMs, 2000)
  for (const value of ['0', 'soon', String(31 * 24 * 3600)]) {
    t.throws(() => loadConfig({ RESUMABLE_UPLOAD_TTL: value }), { message: /RESUMABLE_UPLOAD_TTL/ }, `RESUMABLE_UPLOAD_TTL=${value}`)
  }
})

t.test('WORKER_CONCURRENCY: unset, it fits the storage; set, it is used as given', async t => {
  const dropbox = { DROPBOX_APP_KEY: 'k', DROPBOX_APP_SECRET: 's', DROPBOX_REFRESH_TOKEN: 'r' }
  t.equal(loadConfig({}).worker.concurrency, 32, 'local storage: 32')
  t.equal(loadConfig(dropbox).worker.concurrency, 50, 'Dropbox (I/O-bound): 50')
  t.equal(loadConfig({ ...dropbox, STORAGE: 'local' }).worker.concurrency, 32)
  t.equal(loadConfig({ ...dropbox, WORKER_CONCURRENCY: '12' }).worker.concurrency, 12)
  t.equal(loadConfig({ WORKER_CONCURRENCY: '3' }).worker.concurrency, 3)
  t.throws(() => loadConfig({ WORKER_CONCURRENCY: '0' }), { message: /WORKER_CONCURRENCY/ })
})

t.test('variant settings: defaults, and refusals naming the setting', async t => {
  t.same(loadConfig({}).variants, { enabled: true, concurrency: 2, heicThreads: 1, maxInputPixels: 64_000_000, timeoutMs: 30_000 })
  t.same(loadConfig({ VARIANTS_ENABLED: 'false', VARIANT_CONCURRENCY: '4', VARIANT_TIMEOUT_SECONDS: '5' }).variants, { enabled: false, concurrency: 4, heicThreads: 1, maxInputPixels: 64_000_000, timeoutMs: 5000 })
  for (const [env, message] of [
    [{ VARIANT_CONCURRENCY: '0' }, /VARIANT_CONCURRENCY/],
    [{ VARIANT_MAX_INPUT_PIXELS: '300000000' }, /VARIANT_MAX_INPUT_PIXELS/],
    [{ VARIANT_TIMEOUT_SECONDS: 'soon' }, /VARIANT_TIMEOUT_SECONDS/]
  ] as Array<[Record<string, string>, RegExp]>) {
    t.throws(() => loadConfig(env), { message }, JSON.stringify(env))
  }
})

t.test('STAGING=s3: the bucket and its settings, validated; the directory stays the default', async t => {
  t.equal(loadConfig({}).s3Staging, undefined, 'the staging directory by default')
  const config = loadConfig({ STAGING: 's3', S3_BUCKET: 'uploads-staging', S3_ENDPOINT: 'http://s3.internal:7070', S3_ACCESS_KEY_ID: 'id', S3_SECRET_ACCESS_KEY: 'secret' })
  t.same(config.s3Staging, { endpoint: 'http://s3.internal:7070', bucket: 'uploads-staging', region: 'us-east-1', credentials: { accessKeyId: 'id', secretAccessKey: 'secret' }, prefix: 'staging/', forcePathStyle: true })
  const aws = loadConfig({ STAGING: 's3', S3_BUCKET: 'uploads-staging', S3_REGION: 'eu-west-1' })
  t.same([aws.s3Staging?.endpoint, aws.s3Staging?.credentials, aws.s3Staging?.forcePathStyle], [undefined, undefined, false], 'AWS S3: the SDK finds the credentials, virtual-hosted addressing')
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ STAGING: 's3' }, /STAGING=s3 needs S3_BUCKET/],
    [{ STAGING: 'nfs' }, /STAGING/],
    [{ STAGING: 's3', S3_BUCKET: 'Not_A_Bucket' }, /S3_BUCKET/],
    [{ STAGING: 's3', S3_BUCKET: 'b-1', S3_ACCESS_KEY_ID: 'id' }, /S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together/],
    [{ STAGING: 's3', S3_BUCKET: 'b-1', S3_PREFIX: '' }, /S3_PREFIX/],
    [{ STAGING: 's3', S3_BUCKET: 'b-1', S3_ENDPOINT: 's3.internal' }, /S3_ENDPOINT/]
  ]
  for (const [env, message] of bad) t.throws(() => loadConfig(env), { message }, JSON.stringify(env))
})
