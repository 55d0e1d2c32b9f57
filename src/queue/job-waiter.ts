import { Job, type Queue, type QueueEvents } from 'bullmq'
import type { UploadJobResult } from './upload-jobs.ts'

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

/**
 * Waits for many jobs with one QueueEvents subscription per process (not a listener per job, as
 * job.waitUntilFinished() would). Events can be missed (a job that finished before the wait
 * started, a reconnect, load), so every wait starts with a state read and pending jobs are
 * re-read on a fixed sweep. Every wait ends by its timeout at the latest, as "pending".
 */
export class JobWaiter {
  readonly #queue: Queue
  readonly #recover: RecoverJob | undefined
  readonly #pending = new Map<string, Pending[]>()
  readonly #sweep: NodeJS.Timeout
  #sweeping = false
  #closed = false

  constructor (queue: Queue, events: QueueEvents, { sweepMs = 2000, recover }: { sweepMs?: number, recover?: RecoverJob } = {}) {
    this.#queue = queue
    this.#recover = recover
    events.on('completed', ({ jobId, returnvalue }) => {
      this.#settle(jobId, { status: 'completed', result: returnvalue as unknown as UploadJobResult })
    })
    events.on('failed', ({ jobId, failedReason }) => {
      this.#settle(jobId, { status: 'failed', reason: failedReason })
    })
    this.#sweep = setInterval(() => { void this.#recheckAll() }, sweepMs).unref()
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
      if (outcome && outcome.status !== 'pending') this.#settle(jobId, outcome)
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

  #settle (jobId: string, outcome: JobOutcome): void {
    for (const entry of this.#pending.get(jobId) ?? []) this.#drop(jobId, entry, outcome)
  }

  #drop (jobId: string, entry: Pending, outcome: JobOutcome): void {
    clearTimeout(entry.timer)
    const rest = (this.#pending.get(jobId) ?? []).filter(e => e !== entry)
    if (rest.length > 0) this.#pending.set(jobId, rest)
    else this.#pending.delete(jobId)
    entry.settle(outcome)
  }
}
