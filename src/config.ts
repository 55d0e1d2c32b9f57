import { resolve } from 'node:path'
import envSchema from 'env-schema'
import { Type, type Static } from 'typebox'
import { ADMIN_PASSWORD_MAX_LENGTH, ADMIN_PASSWORD_MIN_LENGTH, ADMIN_USERNAME_PATTERN } from './core/admin-account-rules.ts'

const MiB = 1024 * 1024

// Every setting the service reads, with its default. Validated once at boot; nothing else reads
// process.env. The README's configuration table mirrors this list.
const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map(l => Type.Literal(l)), { default: 'info' }),
  TRUST_PROXY: Type.Boolean({ default: false }),
  PUBLIC_BASE_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
  CORS_ORIGINS: Type.String({ default: '*' }),

  MONGODB_URL: Type.String({ pattern: '^mongodb(\\+srv)?://', default: 'mongodb://127.0.0.1:27017/image_upload' }),
  REDIS_URL: Type.String({ pattern: '^rediss?://', default: 'redis://127.0.0.1:6379' }),
  QUEUE_PREFIX: Type.String({ pattern: '^[A-Za-z0-9_-]+$', default: 'image-upload' }),

  STORAGE: Type.Optional(Type.Union([Type.Literal('dropbox'), Type.Literal('local')])),
  DROPBOX_APP_KEY: Type.Optional(Type.String({ minLength: 1 })),
  DROPBOX_APP_SECRET: Type.Optional(Type.String({ minLength: 1 })),
  DROPBOX_REFRESH_TOKEN: Type.Optional(Type.String({ minLength: 1 })),
  DROPBOX_API_BASE_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
  DROPBOX_UPLOAD_STRATEGY: Type.Union([Type.Literal('batch'), Type.Literal('single')], { default: 'batch' }),
  DROPBOX_CHUNK_THRESHOLD_BYTES: Type.Integer({ minimum: 1, maximum: 150 * MiB, default: 150 * MiB }),
  DROPBOX_CHUNK_BYTES: Type.Integer({ minimum: 4 * MiB, maximum: 148 * MiB, multipleOf: 4 * MiB, default: 8 * MiB }),
  DROPBOX_BATCH_MAX_ENTRIES: Type.Integer({ minimum: 1, maximum: 1000, default: 500 }),
  DROPBOX_BATCH_WINDOW_MS: Type.Integer({ minimum: 0, maximum: 10_000, default: 50 }),
  // 0 turns the Dropbox sync off (webhooks included).
  DROPBOX_SYNC_INTERVAL_MS: Type.Integer({ minimum: 0, maximum: 24 * 3600 * 1000, default: 60_000 }),

  STAGING_DIR: Type.String({ minLength: 1, default: '.data/staging' }),
  // Where accepted files wait for a worker: the directory (shared by API and workers: one
  // machine, or a network file system) or an S3 bucket (STAGING_DIR is then each process's scratch).
  STAGING: Type.Union([Type.Literal('directory'), Type.Literal('s3')], { default: 'directory' }),
  S3_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
  S3_BUCKET: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' })),
  S3_REGION: Type.String({ minLength: 1, default: 'us-east-1' }),
  S3_ACCESS_KEY_ID: Type.Optional(Type.String({ minLength: 1 })),
  S3_SECRET_ACCESS_KEY: Type.Optional(Type.String({ minLength: 1 })),
  // Keys of the staged objects start with it; never empty: resumable uploads use the top level.
  S3_PREFIX: Type.String({ pattern: '^([A-Za-z0-9_.-]+/)+$', default: 'staging/' }),
  // Unset: path-style addressing (bucket in the path) when S3_ENDPOINT is set, as most S3-compatible servers want.
  S3_FORCE_PATH_STYLE: Type.Optional(Type.Boolean()),
  DATA_DIR: Type.String({ minLength: 1, default: '.data/files' }),
  // Location metadata (EXIF GPS, XMP GPS properties) is taken out of uploads before they are stored.
  STRIP_LOCATION: Type.Boolean({ default: true }),

  UPLOAD_MAX_FILE_BYTES: Type.Integer({ minimum: 1, default: 50 * MiB }),
  UPLOAD_MAX_FILES: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
  UPLOAD_WAIT_MS: Type.Integer({ minimum: 1000, default: 120_000 }),
  IDEMPOTENCY_TTL: Type.Integer({ minimum: 60, maximum: 30 * 24 * 3600, default: 24 * 3600 }),
  UPLOAD_IDLE_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 10 * 60 * 1000, default: 30_000 }),
  // Seconds an unfinished resumable (tus) upload is kept; then its bytes and state are swept.
  RESUMABLE_UPLOAD_TTL: Type.Integer({ minimum: 1, maximum: 30 * 24 * 3600, default: 24 * 3600 }),

  // Unset: fits the storage (WORKER_CONCURRENCY_DEFAULTS).
  WORKER_CONCURRENCY: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  JOB_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 100, default: 8 }),
  WORKER_LOCK_MS: Type.Integer({ minimum: 1000, maximum: 10 * 60 * 1000, default: 5000 }),
  // A killed worker's jobs are taken over within max(lock + check, 3 x check): 9 s by default
  // (src/worker/start-worker.ts, BENCHMARKS.md "Recovery and timeouts").
  WORKER_STALLED_CHECK_MS: Type.Integer({ minimum: 1000, maximum: 10 * 60 * 1000, default: 3000 }),
  // No longer than failed jobs are kept (FAILED_RETENTION_SECONDS in queue/upload-jobs.ts: 14 days).
  FAILED_STAGED_RETENTION_SECONDS: Type.Integer({ minimum: 0, maximum: 14 * 24 * 3600, default: 7 * 24 * 3600 }),

  VARIANTS_ENABLED: Type.Boolean({ default: true }),
  VARIANT_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 2 }),
  VARIANT_HEIC_THREADS: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),
  // 64 MP: a 50 MP camera's photos pass, a 100 MP decompression bomb does not (sharp's own default is 268 MP).
  VARIANT_MAX_INPUT_PIXELS: Type.Integer({ minimum: 1_000_000, maximum: 268_402_689, default: 64_000_000 }),
  VARIANT_TIMEOUT_SECONDS: Type.Integer({ minimum: 1, maximum: 600, default: 30 }),

  API_AUTH: Type.Union([Type.Literal('off'), Type.Literal('required')], { default: 'off' }),
  API_KEY_CACHE_SECONDS: Type.Integer({ minimum: 0, maximum: 300, default: 30 }),
  RATE_LIMIT_UPLOADS_PER_MINUTE: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 600 }),
  RATE_LIMIT_LOOKUPS_PER_MINUTE: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 120 }),

  // Slow and stalled clients, and overload (README, "Operations"). Headers of any real request
  // arrive in well under a second, even on a slow mobile link; a whole request gets 10 minutes
  // (50 MiB at ~700 kbit/s), beyond which a client should use resumable uploads (tus).
  HEADERS_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 10 * 60 * 1000, default: 30_000 }),
  REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 60 * 60 * 1000, default: 10 * 60 * 1000 }),
  // 0: no limit. Keep-alive connections are recycled after this many requests, so that load
  // spreads again over the API processes behind a balancer.
  MAX_REQUESTS_PER_SOCKET: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 1000 }),
  // 0: no limit. Connections beyond it are closed at once.
  MAX_CONNECTIONS: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 10_000 }),
  // 0 turns a limit off. Over either, requests are answered 503 with Retry-After.
  PRESSURE_MAX_EVENT_LOOP_DELAY_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 5000 }),
  PRESSURE_MAX_RSS_BYTES: Type.Integer({ minimum: 0, default: 1024 * MiB }),
  // Prometheus metrics: with a token, /metrics wants `Authorization: Bearer <token>`.
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16, pattern: '^\\S+$' })),
  // The worker's own metrics server (GET /metrics on HOST:WORKER_METRICS_PORT); 0: none.
  WORKER_METRICS_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 0 }),

  ADMIN_ENABLED: Type.Boolean({ default: true }),
  ADMIN_SESSION_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 30 * 24 * 3600, default: 8 * 3600 }),
  ADMIN_SESSION_MAX_AGE_SECONDS: Type.Integer({ minimum: 60, maximum: 90 * 24 * 3600, default: 24 * 3600 }),
  ADMIN_COOKIE_SECURE: Type.Optional(Type.Boolean()),
  ADMIN_LOGIN_ATTEMPTS_PER_MINUTE: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
  ADMIN_TIME_ZONE: Type.String({ minLength: 1, default: 'UTC' }),
  ADMIN_BOOTSTRAP_USERNAME: Type.Optional(Type.String({ pattern: ADMIN_USERNAME_PATTERN })),
  ADMIN_BOOTSTRAP_PASSWORD: Type.Optional(Type.String({ minLength: ADMIN_PASSWORD_MIN_LENGTH, maxLength: ADMIN_PASSWORD_MAX_LENGTH }))
})

type Env = Static<typeof EnvSchema>

export type StorageKind = 'dropbox' | 'local'

export interface DropboxSettings {
  appKey: string
  appSecret: string
  refreshToken: string
  apiBaseUrl: string | undefined
  strategy: 'batch' | 'single'
  chunkThresholdBytes: number
  chunkBytes: number
  batchMaxEntries: number
  batchWindowMs: number
  /** How often the records are brought in step with Dropbox (webhooks trigger it sooner); 0: never. */
  syncIntervalMs: number
}

/** STAGING=s3: the bucket where accepted files wait for a worker (staging/s3-staging.ts). */
export interface S3StagingSettings {
  /** Unset: AWS S3 itself. */
  endpoint: string | undefined
  bucket: string
  region: string
  /** Unset: the AWS SDK's own chain (environment, profile, instance role). */
  credentials: { accessKeyId: string, secretAccessKey: string } | undefined
  prefix: string
  forcePathStyle: boolean
}

export interface Config {
  port: number
  host: string
  logLevel: string
  trustProxy: boolean
  /** Origins whose browser apps may call the public API; '*' any; empty: CORS off. */
  corsOrigins: string[]
  publicBaseUrl: string
  mongodbUrl: string
  redisUrl: string
  queuePrefix: string
  storage: StorageKind
  dropbox: DropboxSettings | undefined
  stagingDir: string
  /** Set with STAGING=s3; unset: the staging directory is where workers find accepted files. */
  s3Staging: S3StagingSettings | undefined
  dataDir: string
  /** STRIP_LOCATION: uploads lose their location metadata before they are stored; false keeps every file as sent. */
  stripLocation: boolean
  upload: { maxFileBytes: number, maxFiles: number, waitMs: number, idempotencyTtlSeconds: number, idleTimeoutMs: number, resumableTtlMs: number }
  worker: WorkerSettings
  variants: VariantSettings
  admin: AdminSettings
  apiAuth: ApiAuthSettings
  rateLimits: RateLimitSettings
  server: ServerLimits
  metrics: MetricsSettings
}

/** Bounds on what one client, and all of them together, can hold of an API process. */
export interface ServerLimits {
  /** A client has this long from connecting (or its previous request) to send a request's headers. */
  headersTimeoutMs: number
  /** A client has this long to send a whole request, headers and body; the answer is not bounded by it. */
  requestTimeoutMs: number
  /** Requests on one keep-alive connection before it is closed; 0: no limit. */
  maxRequestsPerSocket: number
  /** Open connections per API process; 0: no limit. */
  maxConnections: number
  /** Load shedding (503 with Retry-After); 0 turns a limit off. */
  pressure: { maxEventLoopDelayMs: number, maxRssBytes: number }
}

export interface MetricsSettings {
  /** When set, /metrics (API and worker) wants `Authorization: Bearer <token>`. */
  token: string | undefined
  /** The worker's metrics server port; 0: no server. */
  workerPort: number
}

export interface ApiAuthSettings {
  /** API_AUTH=required: every /api route wants a valid API key; off: the contract's open API. */
  required: boolean
  /** How long an API process trusts a key's state (valid, revoked) before asking MongoDB again. */
  keyCacheSeconds: number
}

/** Per client (address, or API key and address) per minute, across all API processes; 0: no limit. */
export interface RateLimitSettings {
  uploadsPerMinute: number
  lookupsPerMinute: number
}

export interface WorkerSettings {
  concurrency: number
  attempts: number
  /** A job's lock lasts this long unless renewed (every lockMs / 2): a dead worker's jobs are free after it. */
  lockMs: number
  /** How often jobs whose lock has expired are looked for and handed to another worker. */
  stalledCheckMs: number
  /** How long a job that failed for good keeps its staged file (for a retry); 0: removed at once. */
  failedStagedRetentionMs: number
}

/** The display and thumbnail renderings (core/image-variants.ts) and the variant worker. */
export interface VariantSettings {
  /** The upload worker queues each stored image's renderings; off: none are made (their URLs answer 503). */
  enabled: boolean
  /** Images one variant worker process renders at once (CPU-bound: about one per core). */
  concurrency: number
  /** HEIC decodes at once per process (each a worker thread of about 190 MB for 12 MP). */
  heicThreads: number
  /** Larger images (width × height in their header) are refused unread: decompression bombs. */
  maxInputPixels: number
  /** One image's rendering time, HEIC decoding included; past it the image counts as unrenderable. */
  timeoutMs: number
}

export interface AdminSettings {
  enabled: boolean
  /** Idle timeout: a session unused for this long ends. */
  sessionTtlSeconds: number
  /** Absolute lifetime: a session ends this long after login, however busy. */
  sessionMaxAgeSeconds: number
  cookieSecure: boolean
  loginAttemptsPerMinute: number
  timeZone: string
  /** An account created at start when no admin account exists yet. */
  bootstrap: { username: string, password: string } | undefined
}

/**
 * Jobs one upload worker runs at once when WORKER_CONCURRENCY is unset. A Dropbox job spends its
 * time waiting on the network (the client serializes the commits per account and honours 429s,
 * so more jobs in flight fill the commit batches better: 89 images/s at 50 against 20 at 8 in
 * BENCHMARKS.md's contention benchmark). A local job is a hard link and a few small files, and
 * otherwise waits on MongoDB and Redis round trips: 32 in flight did 12% more uploads per second
 * than 8 in the ingest benchmark (BENCHMARKS.md), for a few kilobytes of memory each.
 */
export const WORKER_CONCURRENCY_DEFAULTS: Readonly<Record<StorageKind, number>> = { dropbox: 50, local: 32 }

export class ConfigError extends Error {
  override name = 'ConfigError'
}

const DROPBOX_KEYS = ['DROPBOX_APP_KEY', 'DROPBOX_APP_SECRET', 'DROPBOX_REFRESH_TOKEN'] as const

/**
 * Reads and validates the settings. `source` defaults to the process environment merged over a
 * `.env` file in the working directory; tests pass their own object instead.
 */
export function loadConfig (source?: Record<string, string | undefined>): Config {
  let env: Env
  try {
    env = envSchema<Env>({
      schema: structuredClone(EnvSchema),
      data: source ?? {},
      env: source === undefined,
      dotenv: source === undefined
    })
  } catch (err) {
    throw new ConfigError(`Invalid configuration: ${(err as Error).message}`)
  }

  const given = DROPBOX_KEYS.filter(k => env[k] !== undefined)
  if (given.length > 0 && given.length < DROPBOX_KEYS.length) {
    const missing = DROPBOX_KEYS.filter(k => env[k] === undefined)
    throw new ConfigError(`Invalid configuration: ${missing.join(', ')} must be set along with ${given.join(', ')}`)
  }
  const admin = adminSettings(env)
  const storage: StorageKind = env.STORAGE ?? (given.length > 0 ? 'dropbox' : 'local')
  if (storage === 'dropbox' && given.length === 0) {
    throw new ConfigError('Invalid configuration: STORAGE=dropbox needs DROPBOX_APP_KEY, DROPBOX_APP_SECRET and DROPBOX_REFRESH_TOKEN')
  }

  return Object.freeze({
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    trustProxy: env.TRUST_PROXY,
    corsOrigins: env.CORS_ORIGINS.split(',').map(o => o.trim()).filter(Boolean),
    publicBaseUrl: (env.PUBLIC_BASE_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, ''),
    mongodbUrl: env.MONGODB_URL,
    redisUrl: env.REDIS_URL,
    queuePrefix: env.QUEUE_PREFIX,
    storage,
    dropbox: storage === 'dropbox'
      ? {
          appKey: env.DROPBOX_APP_KEY!,
          appSecret: env.DROPBOX_APP_SECRET!,
          refreshToken: env.DROPBOX_REFRESH_TOKEN!,
          apiBaseUrl: env.DROPBOX_API_BASE_URL,
          strategy: env.DROPBOX_UPLOAD_STRATEGY,
          chunkThresholdBytes: env.DROPBOX_CHUNK_THRESHOLD_BYTES,
          chunkBytes: env.DROPBOX_CHUNK_BYTES,
          batchMaxEntries: env.DROPBOX_BATCH_MAX_ENTRIES,
          batchWindowMs: env.DROPBOX_BATCH_WINDOW_MS,
          syncIntervalMs: env.DROPBOX_SYNC_INTERVAL_MS
        }
      : undefined,
    stagingDir: resolve(env.STAGING_DIR),
    s3Staging: s3StagingSettings(env),
    dataDir: resolve(env.DATA_DIR),
    stripLocation: env.STRIP_LOCATION,
    upload: { maxFileBytes: env.UPLOAD_MAX_FILE_BYTES, maxFiles: env.UPLOAD_MAX_FILES, waitMs: env.UPLOAD_WAIT_MS, idempotencyTtlSeconds: env.IDEMPOTENCY_TTL, idleTimeoutMs: env.UPLOAD_IDLE_TIMEOUT_MS, resumableTtlMs: env.RESUMABLE_UPLOAD_TTL * 1000 },
    worker: {
      concurrency: env.WORKER_CONCURRENCY ?? WORKER_CONCURRENCY_DEFAULTS[storage],
      attempts: env.JOB_ATTEMPTS,
      lockMs: env.WORKER_LOCK_MS,
      stalledCheckMs: env.WORKER_STALLED_CHECK_MS,
      failedStagedRetentionMs: env.FAILED_STAGED_RETENTION_SECONDS * 1000
    },
    variants: {
      enabled: env.VARIANTS_ENABLED,
      concurrency: env.VARIANT_CONCURRENCY,
      heicThreads: env.VARIANT_HEIC_THREADS,
      maxInputPixels: env.VARIANT_MAX_INPUT_PIXELS,
      timeoutMs: env.VARIANT_TIMEOUT_SECONDS * 1000
    },
    admin,
    apiAuth: { required: env.API_AUTH === 'required', keyCacheSeconds: env.API_KEY_CACHE_SECONDS },
    rateLimits: { uploadsPerMinute: env.RATE_LIMIT_UPLOADS_PER_MINUTE, lookupsPerMinute: env.RATE_LIMIT_LOOKUPS_PER_MINUTE },
    server: serverLimits(env),
    metrics: { token: env.METRICS_TOKEN, workerPort: env.WORKER_METRICS_PORT }
  })
}

function s3StagingSettings (env: Env): S3StagingSettings | undefined {
  if (env.STAGING !== 's3') return undefined
  if (env.S3_BUCKET === undefined) throw new ConfigError('Invalid configuration: STAGING=s3 needs S3_BUCKET')
  if ((env.S3_ACCESS_KEY_ID === undefined) !== (env.S3_SECRET_ACCESS_KEY === undefined)) {
    throw new ConfigError('Invalid configuration: S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together')
  }
  return {
    endpoint: env.S3_ENDPOINT,
    bucket: env.S3_BUCKET,
    region: env.S3_REGION,
    credentials: env.S3_ACCESS_KEY_ID !== undefined ? { accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY! } : undefined,
    prefix: env.S3_PREFIX,
    forcePathStyle: env.S3_FORCE_PATH_STYLE ?? env.S3_ENDPOINT !== undefined
  }
}

function serverLimits (env: Env): ServerLimits {
  if (env.HEADERS_TIMEOUT_MS > env.REQUEST_TIMEOUT_MS) {
    throw new ConfigError('Invalid configuration: HEADERS_TIMEOUT_MS must not be more than REQUEST_TIMEOUT_MS')
  }
  return {
    headersTimeoutMs: env.HEADERS_TIMEOUT_MS,
    requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
    maxRequestsPerSocket: env.MAX_REQUESTS_PER_SOCKET,
    maxConnections: env.MAX_CONNECTIONS,
    pressure: { maxEventLoopDelayMs: env.PRESSURE_MAX_EVENT_LOOP_DELAY_MS, maxRssBytes: env.PRESSURE_MAX_RSS_BYTES }
  }
}

function adminSettings (env: Env): AdminSettings {
  const { ADMIN_BOOTSTRAP_USERNAME: username, ADMIN_BOOTSTRAP_PASSWORD: password } = env
  if ((username === undefined) !== (password === undefined)) {
    throw new ConfigError('Invalid configuration: ADMIN_BOOTSTRAP_USERNAME and ADMIN_BOOTSTRAP_PASSWORD must be set together')
  }
  if (env.ADMIN_SESSION_MAX_AGE_SECONDS < env.ADMIN_SESSION_TTL_SECONDS) {
    throw new ConfigError('Invalid configuration: ADMIN_SESSION_MAX_AGE_SECONDS must not be less than ADMIN_SESSION_TTL_SECONDS')
  }
  try {
    // eslint-disable-next-line no-new
    new Intl.DateTimeFormat('en', { timeZone: env.ADMIN_TIME_ZONE })
  } catch {
    throw new ConfigError(`Invalid configuration: ADMIN_TIME_ZONE '${env.ADMIN_TIME_ZONE}' is not an IANA time zone such as UTC or Europe/Berlin`)
  }
  return {
    enabled: env.ADMIN_ENABLED,
    sessionTtlSeconds: env.ADMIN_SESSION_TTL_SECONDS,
    sessionMaxAgeSeconds: env.ADMIN_SESSION_MAX_AGE_SECONDS,
    // Behind HTTPS (as PUBLIC_BASE_URL says) the cookie must never travel over plain HTTP.
    cookieSecure: env.ADMIN_COOKIE_SECURE ?? env.PUBLIC_BASE_URL?.startsWith('https://') ?? false,
    loginAttemptsPerMinute: env.ADMIN_LOGIN_ATTEMPTS_PER_MINUTE,
    timeZone: env.ADMIN_TIME_ZONE,
    bootstrap: username !== undefined && password !== undefined ? { username: username.toLowerCase(), password } : undefined
  }
}
