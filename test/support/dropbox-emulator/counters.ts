import type { CounterValues, Counters } from './types.ts'

export class CounterSet implements Counters {
  calls: Record<string, number> = {}
  tooManyRequests = 0
  tooManyWriteOperations = 0
  serverErrors = 0
  commits = 0
  filesWritten = 0
  tokensIssued = 0
  batchEntries = 0
  batchEntryFailures = 0
  listFolderEntries = 0
  cursorResets = 0
  webhooksDelivered = 0
  webhookFailures = 0

  countCall (route: string): void {
    this.calls[route] = (this.calls[route] ?? 0) + 1
  }

  // Keys are deleted rather than the object replaced, so a held reference to calls stays live.
  reset (): void {
    for (const route of Object.keys(this.calls)) delete this.calls[route]
    this.tooManyRequests = 0
    this.tooManyWriteOperations = 0
    this.serverErrors = 0
    this.commits = 0
    this.filesWritten = 0
    this.tokensIssued = 0
    this.batchEntries = 0
    this.batchEntryFailures = 0
    this.listFolderEntries = 0
    this.cursorResets = 0
    this.webhooksDelivered = 0
    this.webhookFailures = 0
  }

  snapshot (): CounterValues {
    return {
      calls: { ...this.calls },
      tooManyRequests: this.tooManyRequests,
      tooManyWriteOperations: this.tooManyWriteOperations,
      serverErrors: this.serverErrors,
      commits: this.commits,
      filesWritten: this.filesWritten,
      tokensIssued: this.tokensIssued,
      batchEntries: this.batchEntries,
      batchEntryFailures: this.batchEntryFailures,
      listFolderEntries: this.listFolderEntries,
      cursorResets: this.cursorResets,
      webhooksDelivered: this.webhooksDelivered,
      webhookFailures: this.webhookFailures
    }
  }
}
