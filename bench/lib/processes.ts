// Child processes of a benchmark (API, workers, the baseline, the emulator), each a process of its
// own like in production, logging to a file so that the benchmark process does no log work.
import { readdir, readFile } from 'node:fs/promises'
import { spawnNode as spawnChild, type NodeChild } from '../../scripts/lib/spawn.ts'
import { waitFor as waitForState } from '../../scripts/lib/wait-for.ts'

export { stopAllChildren as stopAll } from '../../scripts/lib/spawn.ts'

export interface Child extends NodeChild {
  pid: number
  logFile: string
}

export interface SpawnOptions {
  env: Record<string, string>
  logFile: string
  args?: string[]
  /** Node flags such as --cpu-prof. */
  nodeArgs?: string[]
  /** Keep stdout as a pipe (the emulator prints its address there). */
  pipeStdout?: boolean
}

/** The few variables a child needs from ours; everything else is set explicitly. */
export function baseEnv (): Record<string, string> {
  const env: Record<string, string> = { NODE_ENV: 'production' }
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const value = process.env[key]
    if (value !== undefined) env[key] = value
  }
  return env
}

export function spawnNode (name: string, script: string, options: SpawnOptions): Child {
  const child = spawnChild(name, script, options)
  if (child.process.pid === undefined) throw new Error(`${name} did not start`)
  return Object.assign(child, { pid: child.process.pid, logFile: options.logFile })
}

/** Fails fast when the child died, with the end of its log. */
export async function assertAlive (child: Child): Promise<void> {
  if (child.process.exitCode === null && child.process.signalCode === null) return
  const log = await readFile(child.logFile, 'utf8').catch(() => '')
  throw new Error(`${child.name} exited (${child.process.exitCode ?? child.process.signalCode}); end of ${child.logFile}:\n${log.slice(-2000)}`)
}

/** Waits for `check`, failing at once if one of `children` dies meanwhile. */
export async function waitFor (what: string, check: () => Promise<boolean>, options: { timeoutMs?: number, intervalMs?: number, children?: Child[] } = {}): Promise<void> {
  let died: unknown
  await waitForState(async () => {
    for (const child of options.children ?? []) await assertAlive(child).catch(err => { died = err })
    if (died) return true
    return check()
  }, { what, timeoutMs: options.timeoutMs, intervalMs: options.intervalMs ?? 100 })
  if (died) throw died
}

/** CPU time (user + system) a process has used so far, in milliseconds, from /proc/<pid>/stat. */
export async function cpuMs (pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12]) // utime, stime
  return ticks * 10 // USER_HZ is 100 on Linux
}

const MACHINE = '(machine)'

/**
 * From /proc/stat, in ms over all cores: time in processes (user, nice, system), time in
 * interrupts (irq, softirq: much of loopback networking, charged to no process), and time the
 * hypervisor took away (steal).
 */
async function machineTimes (): Promise<{ processes: number, irq: number, steal: number }> {
  const [, ...fields] = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0]!.trim().split(/\s+/)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields.map(Number)
  return { processes: (user + nice + system) * 10, irq: (irq + softirq) * 10, steal: steal * 10 }
}

/** CPU time used by some processes (and by this one, the load generator) between start and stop. */
export class CpuMeter {
  readonly #pids: Record<string, number>
  readonly #trees: Record<string, number>
  readonly #before: Record<string, number>
  readonly #t0 = performance.now()

  private constructor (pids: Record<string, number>, trees: Record<string, number>, before: Record<string, number>) {
    this.#pids = pids
    this.#trees = trees
    this.#before = before
  }

  /** `trees`: processes measured with their children (treeCpuMs), such as PostgreSQL's postmaster. */
  static async start (pids: Record<string, number>, trees: Record<string, number> = {}): Promise<CpuMeter> {
    return new CpuMeter(pids, trees, await CpuMeter.#snapshot(pids, trees))
  }

  static async #snapshot (pids: Record<string, number>, trees: Record<string, number>): Promise<Record<string, number>> {
    const entries = await Promise.all([
      ...Object.entries(pids).map(async ([name, pid]) => [name, await cpuMs(pid)] as const),
      ...Object.entries(trees).map(async ([name, pid]) => [name, await treeCpuMs(pid)] as const)
    ])
    const self = process.cpuUsage()
    const machine = await machineTimes()
    return { ...Object.fromEntries(entries), 'load generator': (self.user + self.system) / 1000, [MACHINE]: machine.processes, 'irq+softirq': machine.irq, steal: machine.steal }
  }

  /**
   * CPU ms per unit of work, and cores used (1 = one core busy all the time), per process; plus
   * the machine's interrupt and steal time, and "other": what the rest of the machine's processes
   * used meanwhile. Anything there competed with the benchmark for the same cores.
   */
  async stop (units: number): Promise<{ cpuMsPerRequest: Record<string, number>, cores: Record<string, number> }> {
    const after = await CpuMeter.#snapshot(this.#pids, this.#trees)
    const elapsed = performance.now() - this.#t0
    const used: Record<string, number> = {}
    for (const name of Object.keys(after)) used[name] = after[name]! - this.#before[name]!
    const ours = Object.entries(used).filter(([name]) => ![MACHINE, 'irq+softirq', 'steal'].includes(name)).reduce((a, [, ms]) => a + ms, 0)
    used.other = Math.max(0, used[MACHINE]! - ours)
    delete used[MACHINE]
    const cpuMsPerRequest: Record<string, number> = {}
    const cores: Record<string, number> = {}
    for (const [name, ms] of Object.entries(used)) {
      cpuMsPerRequest[name] = Math.round(ms / units * 100) / 100
      cores[name] = Math.round(ms / elapsed * 100) / 100
    }
    return { cpuMsPerRequest, cores }
  }
}

/**
 * CPU time of a process and its children, in milliseconds: for a server that forks a process per
 * connection (PostgreSQL), the postmaster's own time, its children's that have ended (cutime,
 * cstime) and its live children's.
 */
export async function treeCpuMs (pid: number): Promise<number> {
  const fieldsOf = (stat: string): string[] => stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const root = fieldsOf(await readFile(`/proc/${pid}/stat`, 'utf8'))
  // utime, stime, cutime, cstime
  let ticks = Number(root[11]) + Number(root[12]) + Number(root[13]) + Number(root[14])
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === pid) continue
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined)
    if (stat === undefined) continue
    const fields = fieldsOf(stat)
    if (Number(fields[1]) === pid) ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])
  }
  return ticks * 10 // USER_HZ is 100 on Linux
}
