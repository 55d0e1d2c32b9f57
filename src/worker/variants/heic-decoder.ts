import { Worker } from 'node:worker_threads'
import type { HeicOutcome, HeicTask } from './heic-thread.ts'
import { UnrenderableImageError } from './unrenderable.ts'

const THREAD = new URL('./heic-thread.ts', import.meta.url)

export interface HeicLimits {
  maxPixels: number
  timeoutMs: number
}

/**
 * Decodes HEIC/HEIF files in worker threads, at most `threads` at once, so the variant worker's
 * event loop (which renews its BullMQ job locks) never waits on the second-long WebAssembly
 * decode. A thread per file: its end frees the decoder's memory (about 190 MB for 12 MP), which
 * a long-lived thread would keep for good; starting one costs about 50 ms. A decode running past
 * its time is stopped by ending its thread.
 */
export class HeicDecoder {
  readonly #threads: number
  readonly #displayP3: () => Promise<Buffer>
  readonly #waiting: Array<() => void> = []
  #running = 0

  constructor (threads: number, displayP3: () => Promise<Buffer>) {
    this.#threads = threads
    this.#displayP3 = displayP3
  }

  /** Decodes `input` into a TIFF at `output`, colour profile included. */
  async toTiff (input: string, output: string, limits: HeicLimits): Promise<{ width: number, height: number }> {
    const task: HeicTask = { input, output, maxPixels: limits.maxPixels, displayP3: await this.#displayP3() }
    await this.#slot()
    try {
      const outcome = await runThread(task, limits.timeoutMs)
      if (!outcome.ok) throw new UnrenderableImageError(outcome.reason)
      return outcome
    } finally {
      this.#release()
    }
  }

  async #slot (): Promise<void> {
    if (this.#running < this.#threads) {
      this.#running++
      return
    }
    // The slot passes straight from the releasing decode to this one.
    await new Promise<void>(resolve => this.#waiting.push(resolve))
  }

  #release (): void {
    const next = this.#waiting.shift()
    if (next) next()
    else this.#running--
  }
}

function runThread (task: HeicTask, timeoutMs: number): Promise<HeicOutcome> {
  return new Promise((resolve, reject) => {
    // Its JavaScript heap holds little (the pixels live in WebAssembly memory and one buffer).
    const thread = new Worker(THREAD, { workerData: task, resourceLimits: { maxOldGenerationSizeMb: 128 } })
    let settled = false
    const settle = (fn: () => void): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      fn()
      void thread.terminate()
    }
    const timer = setTimeout(() => settle(() => reject(new UnrenderableImageError(`decoding the HEIC image took longer than ${timeoutMs / 1000} s`))), timeoutMs)
    thread.once('message', (outcome: HeicOutcome) => settle(() => resolve(outcome)))
    thread.once('error', err => settle(() => reject(new UnrenderableImageError(`the HEIC decoder failed (${err.message})`))))
    thread.once('exit', code => settle(() => reject(new Error(`the HEIC decoder thread exited (code ${code}) without an answer`))))
  })
}
