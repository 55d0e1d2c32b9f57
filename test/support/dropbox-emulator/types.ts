// Public shapes of the emulator: what tests and the benchmark CLI configure and read back.

export interface RateLimitFault {
  requestsPerSecond: number
  retryAfterSeconds: number
}

export interface WriteContentionFault {
  maxConcurrentCommits: number
  retryAfterSeconds: number
}

export interface ServerErrorsFault {
  remaining: number
  status?: 500 | 503
}

// Every behaviour that can be switched at runtime; all off by default (see DEFAULT_FAULTS).
export interface Faults {
  latencyMs: number
  tokenTtlSeconds: number
  rateLimit: RateLimitFault | null
  writeContention: WriteContentionFault | null
  serverErrors: ServerErrorsFault | null
  batchEntryFailures: number
  corruptNextUploads: number
  maxUploadBytesPerCall: number
  sharedLinkExistsWithoutMetadata: boolean
}

export interface EmulatorOptions {
  port: number // 0 picks a free port
  host: string
  appKey: string
  appSecret: string
  refreshToken: string
  faults: Partial<Faults>
}

export interface CounterValues {
  calls: Record<string, number> // route (e.g. 'files/upload', 'oauth2/token') -> calls received
  tooManyRequests: number // 429 too_many_requests sent
  tooManyWriteOperations: number // 429 too_many_write_operations sent
  serverErrors: number // 5xx sent by the serverErrors fault
  commits: number // commit calls that succeeded
  filesWritten: number // files actually written (identical-content no-ops excluded)
  tokensIssued: number
  batchEntries: number // entries received by finish_batch_v2
  batchEntryFailures: number // entries failed by the batchEntryFailures fault
}

export interface Counters extends CounterValues {
  reset (): void
}

// FileMetadata exactly as files/upload returns it (no ".tag").
export interface FileMetadata {
  name: string
  id: string
  client_modified: string
  server_modified: string
  rev: string
  size: number
  path_lower: string
  path_display: string
  is_downloadable: boolean
  content_hash: string
}

export interface StoredFile extends FileMetadata {
  diskPath: string // where the bytes live inside the emulator's temp dir
}

export interface DropboxEmulator {
  url: string
  appKey: string
  appSecret: string
  refreshToken: string
  configure (faults: Partial<Faults>): void
  faults (): Faults
  expireAccessTokens (): void
  counters: Counters
  files (): StoredFile[]
  readFile (path: string): Promise<Buffer>
  download (url: string, init?: RequestInit): Promise<Response>
  close (): Promise<void>
}
