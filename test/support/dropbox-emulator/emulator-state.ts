import { AccessTokens } from './access-tokens.ts'
import type { BlobStore } from './blob-store.ts'
import { CounterSet } from './counters.ts'
import { CommitLock, RequestRate } from './limits.ts'
import { Namespace } from './namespace.ts'
import { DEFAULT_FAULTS, mergeFaults } from './options.ts'
import { SharedLinks } from './shared-links.ts'
import type { EmulatorOptions, Faults } from './types.ts'
import { UploadSessions } from './upload-sessions.ts'

// Everything one emulated account holds, shared by the route handlers.
export class EmulatorState {
  readonly options: EmulatorOptions
  readonly store: BlobStore
  readonly counters = new CounterSet()
  readonly tokens = new AccessTokens()
  readonly namespace = new Namespace()
  readonly sessions = new UploadSessions()
  readonly links = new SharedLinks()
  readonly requestRate = new RequestRate()
  readonly commitLock = new CommitLock()
  faults: Faults
  url = ''

  constructor (options: EmulatorOptions, store: BlobStore) {
    this.options = options
    this.store = store
    this.faults = mergeFaults(DEFAULT_FAULTS, options.faults)
  }

  configure (patch: unknown): void {
    this.faults = mergeFaults(this.faults, patch)
  }
}
