import { AccessTokens } from './access-tokens.ts'
import type { BlobStore } from './blob-store.ts'
import { ChangeJournal } from './change-journal.ts'
import { CounterSet } from './counters.ts'
import { CommitLock, RequestRate } from './limits.ts'
import { Namespace } from './namespace.ts'
import { DEFAULT_FAULTS, mergeFaults, mergeWebhook, webhookDefaults } from './options.ts'
import { SharedLinks } from './shared-links.ts'
import type { EmulatorOptions, Faults } from './types.ts'
import { UploadSessions } from './upload-sessions.ts'
import { Webhooks } from './webhooks.ts'

// Everything one emulated account holds, shared by the route handlers.
export class EmulatorState {
  readonly options: EmulatorOptions
  readonly store: BlobStore
  readonly counters = new CounterSet()
  readonly tokens = new AccessTokens()
  readonly journal = new ChangeJournal()
  readonly webhooks: Webhooks
  // Every change, through the API or from outside, is journaled and notified.
  readonly namespace = new Namespace((change) => {
    this.journal.record(change)
    this.webhooks.changed()
  })

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
    this.webhooks = new Webhooks(mergeWebhook(webhookDefaults(options), options.webhook), options, this.counters)
  }

  configure (patch: unknown): void {
    this.faults = mergeFaults(this.faults, patch)
  }

  configureWebhook (patch: unknown): void {
    this.webhooks.configure(mergeWebhook(this.webhooks.settings, patch))
  }

  // Every cursor issued so far answers reset from now on.
  resetCursors (): void {
    this.journal.restart(this.namespace.entries())
  }
}
