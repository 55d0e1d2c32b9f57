// Requests admitted during the last second, for the rateLimit fault (too_many_requests).
export class RequestRate {
  #admitted: number[] = []

  tryAdmit (perSecond: number): boolean {
    const now = Date.now()
    while ((this.#admitted[0] ?? Infinity) <= now - 1000) this.#admitted.shift()
    if (this.#admitted.length >= perSecond) return false
    this.#admitted.push(now)
    return true
  }
}

// Commit calls in flight. Dropbox takes a lock on the account's namespace for every commit and
// refuses writers beyond what it can serialise (too_many_write_operations), however small each is.
export class CommitLock {
  #active = 0

  get active (): number {
    return this.#active
  }

  tryAcquire (maxConcurrent: number | undefined): boolean {
    if (maxConcurrent !== undefined && this.#active >= maxConcurrent) return false
    this.#active++
    return true
  }

  release (): void {
    this.#active--
  }
}
