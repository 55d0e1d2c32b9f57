import { Job, type Queue } from 'bullmq'
import type { PublishedOutcome, UploadJobResult } from './upload-jobs.ts'

export type JobOutcome =
  | { status: 'completed', result: UploadJobResult }
  | { status: 'failed', reason: string }
  | { status: 'pending' }

export function outcomeOf (job: Job<unknown, UploadJobResult>): JobOutcome {
  // finishedOn is only set when a job is completed or failed for good, never between retries.
  if (!job.finishedOn) return { status: 'pending' }
  if (job.returnvalue) return { status: 'completed', result: job.returnvalue }
  return { status: 'failed', reason: job.failedReason }
}

/**
 * Called for a job Redis does not know (its data lost, or finished and removed): the outcome
 * from elsewhere (the record), or undefined after re-queueing it (or when nothing is known).
 */
export type RecoverJob = (jobId: string) => Promise<JobOutcome | undefined>

interface Pending {
  settle: (outcome: JobOutcome) => void
  timer: NodeJS.Timeout
}

/** How the waits of this process ended (tests and benchmarks read them). */
export interface WaiterStats {
  /** Outcome messages received on this process's channel, for a waited job or not. */
  messages: number
  /** Waits settled by a published outcome. */
  settledByMessage: number
  /** Waits settled by reading the job (first read or sweep) or by recovery. */
  settledByRead: number
}

/**
 * Waits for many jobs of this API process. The workers publish each outcome on the process's
 * own channel (upload-jobs.ts, resultsChannel), which the owner hands to receive(): no process
 * reads the outcomes of the others' jobs. Messages can be missed (a job that finished before the
 * wait started, a publish while the subscriber was reconnecting, a job queued by another process
 * or before jobs named their process), so every wait starts with a state read and pending jobs
 * are re-read on a fixed sweep. Every wait ends by its timeout at the latest, as "pending".
 */
export class JobWaiter {
  readonly #queue: Queue
  readonly #recover: RecoverJob | undefined
  readonly #pending = new Map<string, Pending[]>()
  readonly #sweep: NodeJS.Timeout
  readonly stats: WaiterStats = { messages: 0, settledByMessage: 0, settledByRead: 0 }
  #sweeping = false
  #closed = false

  constructor (queue: Queue, { sweepMs = 2000, recover }: { sweepMs?: number, recover?: RecoverJob } = {}) {
    this.#queue = queue
    this.#recover = recover
    this.#sweep = setInterval(() => { void this.#recheckAll() }, sweepMs).unref()
  }

  /** A message of this process's results channel (a PublishedOutcome); anything else is ignored. */
  receive (message: string): void {
    let published: PublishedOutcome
    try {
      published = JSON.parse(message) as PublishedOutcome
    } catch {
      return
    }
    if (typeof published?.jobId !== 'string') return
    this.stats.messages++
    if (published.status === 'completed' && typeof published.result === 'object' && published.result !== null) {
      this.stats.settledByMessage += this.#settle(published.jobId, { status: 'completed', result: published.result })
    } else if (published.status === 'failed') {
      this.stats.settledByMessage += this.#settle(published.jobId, { status: 'failed', reason: String(published.reason) })
    }
  }

  /**
   * Resolves with the job's outcome, or "pending" after `timeoutMs`. A wait registered before
   * its job is added cannot miss the job's events, so `readFirst: false` skips the first read.
   */
  wait (jobId: string, timeoutMs: number, { readFirst = true } = {}): Promise<JobOutcome> {
    if (this.#closed) return Promise.resolve({ status: 'pending' })
    return new Promise(resolve => {
      const entry: Pending = {
        settle: resolve,
        timer: setTimeout(() => this.#drop(jobId, entry, { status: 'pending' }), timeoutMs)
      }
      this.#pending.set(jobId, [...(this.#pending.get(jobId) ?? []), entry])
      if (readFirst) void this.#recheck(jobId)
    })
  }

  /** Reads a job's outcome from Redis: the fallback for missed events. */
  async outcome (jobId: string): Promise<JobOutcome | undefined> {
    const job = await Job.fromId<unknown, UploadJobResult>(this.#queue, jobId)
    return job && outcomeOf(job)
  }

  /** Ends the waits for jobs that were never added. */
  forget (jobIds: string[]): void {
    for (const jobId of jobIds) this.#settle(jobId, { status: 'pending' })
  }

  /** Ends every wait as "pending" (the jobs go on): clients get their 202 before a shutdown. */
  close (): void {
    this.#closed = true
    clearInterval(this.#sweep)
    for (const [jobId, entries] of this.#pending) {
      for (const entry of entries) this.#drop(jobId, entry, { status: 'pending' })
    }
  }

  async #recheck (jobId: string): Promise<void> {
    try {
      const outcome = await this.outcome(jobId) ?? await this.#recover?.(jobId)
      if (outcome && outcome.status !== 'pending') this.stats.settledByRead += this.#settle(jobId, outcome)
    } catch {
      // Redis unreachable: the next sweep or the timeout settles the wait.
    }
  }

  async #recheckAll (): Promise<void> {
    if (this.#sweeping || this.#pending.size === 0) return
    this.#sweeping = true
    try {
      await Promise.all([...this.#pending.keys()].map(id => this.#recheck(id)))
    } finally {
      this.#sweeping = false
    }
  }

  /** Ends every wait for the job; returns how many there were. */
  #settle (jobId: string, outcome: JobOutcome): number {
    const entries = this.#pending.get(jobId) ?? []
    for (const entry of entries) this.#drop(jobId, entry, outcome)
    return entries.length
  }

  #drop (jobId: string, entry: Pending, outcome: JobOutcome): void {
    clearTimeout(entry.timer)
    const rest = (this.#pending.get(jobId) ?? []).filter(e => e !== entry)
    if (rest.length > 0) this.#pending.set(jobId, rest)
    else this.#pending.delete(jobId)
    entry.settle(outcome)
  }
}
