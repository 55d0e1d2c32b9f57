import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createConnection } from 'mongoose'
import { loadConfig, type Config } from '../../src/config.ts'

export interface TestEnv {
  config: Config
  env: Record<string, string>
  stagingDir: string
  dataDir: string
}

interface Teardown {
  teardown: (fn: () => unknown) => void
}

function required (name: 'REDIS_URL' | 'MONGODB_URL'): string {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set: run the suite with \`npm test\` (it starts Redis and FerretDB), or set it to a server`)
  return value
}

/**
 * Overrides for STAGING=s3 in a bucket of its own (made by the service at start), on the suite's
 * S3 server (scripts/test.ts starts versitygw and sets S3_ENDPOINT and its credentials).
 */
export function s3StagingEnv (): Record<string, string> {
  const endpoint = process.env.S3_ENDPOINT
  if (!endpoint) throw new Error('S3_ENDPOINT is not set: run the suite with `npm test` (it starts an S3 server), or set it with S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY')
  return {
    STAGING: 's3',
    S3_ENDPOINT: endpoint,
    S3_ACCESS_KEY_ID: process.env.S3_ACCESS_KEY_ID ?? '',
    S3_SECRET_ACCESS_KEY: process.env.S3_SECRET_ACCESS_KEY ?? '',
    S3_BUCKET: `test-${randomUUID().slice(0, 8)}`
  }
}

/** The MongoDB URL with another database name, keeping host, credentials and options. */
export function withDatabase (url: string, db: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${db}`
  return parsed.toString()
}

/**
 * Settings for one test: the suite's Redis and MongoDB, but a database, a queue prefix and
 * staging/data directories of its own, so test files running in parallel never meet. Everything
 * is removed at teardown.
 */
export async function testEnv (t: Teardown, overrides: Record<string, string> = {}): Promise<TestEnv> {
  const id = randomUUID().slice(0, 8)
  const root = await mkdtemp(join(tmpdir(), 'image-upload-'))
  const stagingDir = join(root, 'staging')
  const dataDir = join(root, 'files')
  const env: Record<string, string> = {
    REDIS_URL: required('REDIS_URL'),
    MONGODB_URL: withDatabase(required('MONGODB_URL'), `test_${id}`),
    QUEUE_PREFIX: `test-${id}`,
    STAGING_DIR: stagingDir,
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PUBLIC_BASE_URL: 'http://localhost:3000',
    UPLOAD_WAIT_MS: '30000',
    // Every inject() comes from one address and waitFor polls: limits that never trip, still
    // checked on every request (test/http/rate-limits.test.ts sets real ones).
    RATE_LIMIT_UPLOADS_PER_MINUTE: '1000000',
    RATE_LIMIT_LOOKUPS_PER_MINUTE: '1000000',
    // Test files run in parallel on a busy machine: an event loop that lags past a second must
    // not turn a test's request into a 503 (test/http/operations.test.ts tests load shedding).
    PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0',
    ...overrides
  }
  t.teardown(async () => {
    const connection = await createConnection(env.MONGODB_URL!).asPromise()
    await connection.dropDatabase()
    await connection.close()
    await rm(root, { recursive: true, force: true })
  })
  return { config: loadConfig(env), env, stagingDir, dataDir }
}
