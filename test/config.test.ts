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
