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
  accountId: string // the "dbid:..." a webhook names in list_folder.accounts
  userId: number // the number a webhook names in delta.users
  faults: Partial<Faults>
  webhook: Partial<WebhookSettings>
}

// Where change notifications go. Dropbox signs each with the app secret; the emulator signs with
// appSecret, which defaults to the emulator's own appSecret.
export interface WebhookSettings {
  url: string | null // null: no notifications
  appSecret: string
  debounceMs: number // changes within this window share one notification
}

export type WebhookDelivery =
  | { ok: true, status: number }
  | { ok: false, status?: number, error: string } // non-2xx, timeout or network error

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
  listFolderEntries: number // entries returned by list_folder and list_folder/continue
  cursorResets: number // 409 reset sent by list_folder/continue
  webhooksDelivered: number // change notifications answered with 2xx (forged ones not counted)
  webhookFailures: number // change notifications that failed: non-2xx, timeout, no connection
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

// The files.Metadata members list_folder returns, with their ".tag".
export interface TaggedFileMetadata extends FileMetadata {
  '.tag': 'file'
}

export interface FolderMetadata {
  '.tag': 'folder'
  name: string
  id: string
  path_lower: string
  path_display: string
}

export interface DeletedMetadata {
  '.tag': 'deleted'
  name: string
  path_lower: string
  path_display: string
}

export type Metadata = TaggedFileMetadata | FolderMetadata

export type ListedMetadata = Metadata | DeletedMetadata

// Options of a file added "from outside" (as the Dropbox app or website would).
export interface OutsideFileOptions {
  mode?: 'add' | 'overwrite' // default overwrite: replacing a file with the same name
  autorename?: boolean // with mode 'add': "name (1).jpg" instead of a conflict
  clientModified?: string // YYYY-MM-DDTHH:MM:SSZ
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
  accountId: string // as webhook notifications name the account
  userId: number

  // Changes "from outside", as a user would make them in the Dropbox app: journaled (so
  // list_folder/continue reports them) and notified to the webhook like API changes. A refused
  // change throws OutsideChangeError, whose `error` is the Dropbox error union the API would send.
  addFile (path: string, contents: Uint8Array | string, options?: OutsideFileOptions): Promise<TaggedFileMetadata>
  addFolder (path: string): FolderMetadata
  deletePath (path: string): Metadata // what was deleted (a folder with everything under it)
  movePath (fromPath: string, toPath: string, options?: { autorename?: boolean }): Metadata
  resetCursors (): void // every cursor issued so far answers 409 reset

  configureWebhook (settings: Partial<WebhookSettings>): void
  webhook (): WebhookSettings
  sendWebhook (): Promise<WebhookDelivery> // one notification now, correctly signed
  sendForgedWebhook (): Promise<WebhookDelivery> // one notification signed with the wrong key
  close (): Promise<void>
}
