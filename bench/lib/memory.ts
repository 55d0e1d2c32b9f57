// Peak memory of child processes, read from /proc/<pid>/status: VmHWM is the kernel's own
// high-water mark of the resident set (what a container limit would see), VmRSS the current one.
import { readFile } from 'node:fs/promises'

export interface MemoryReading {
  vmRssKiB: number
  vmHwmKiB: number
}

export async function readMemory (pid: number): Promise<MemoryReading> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN)
  return { vmRssKiB: kib('VmRSS'), vmHwmKiB: kib('VmHWM') }
}

export interface MemoryPeak {
  name: string
  pid: number
  /** RSS when sampling started (idle, after start-up). */
  startRssMiB: number
  /** Largest VmRSS seen by the sampler. */
  maxSampledRssMiB: number
  /** VmHWM read at the end: the true peak since the process started. */
  vmHwmMiB: number
  samples: number
}

const mib = (kib: number): number => Math.round(kib / 1024 * 10) / 10

/** Polls VmRSS of some processes every `intervalMs` until stopped; reads VmHWM at the end. */
export class MemorySampler {
  readonly #targets: Array<{ name: string, pid: number, start: number, max: number, samples: number }>
  readonly #timer: NodeJS.Timeout
  readonly timeline: Array<{ t: number, [name: string]: number }> = []
  readonly #t0 = Date.now()

  private constructor (targets: Array<{ name: string, pid: number, start: number }>, intervalMs: number) {
    this.#targets = targets.map(t => ({ ...t, max: t.start, samples: 0 }))
    this.#timer = setInterval(() => { void this.#sample() }, intervalMs)
  }

  static async start (processes: Array<{ name: string, pid: number }>, intervalMs = 100): Promise<MemorySampler> {
    const targets = await Promise.all(processes.map(async p => ({ ...p, start: (await readMemory(p.pid)).vmRssKiB })))
    return new MemorySampler(targets, intervalMs)
  }

  async #sample (): Promise<void> {
    const point: { t: number, [name: string]: number } = { t: Date.now() - this.#t0 }
    await Promise.all(this.#targets.map(async target => {
      const reading = await readMemory(target.pid).catch(() => undefined)
      if (!reading) return
      target.max = Math.max(target.max, reading.vmRssKiB)
      target.samples++
      point[target.name] = mib(reading.vmRssKiB)
    }))
    // One point a second is enough for the result file.
    if (this.timeline.length === 0 || point.t - this.timeline.at(-1)!.t >= 1000) this.timeline.push(point)
  }

  /** Stops sampling; call while the processes still run, so VmHWM can be read. */
  async stop (): Promise<MemoryPeak[]> {
    clearInterval(this.#timer)
    return Promise.all(this.#targets.map(async target => ({
      name: target.name,
      pid: target.pid,
      startRssMiB: mib(target.start),
      maxSampledRssMiB: mib(target.max),
      vmHwmMiB: mib((await readMemory(target.pid)).vmHwmKiB),
      samples: target.samples
    })))
  }
}
