// What a result was measured on, stored with every result file and quoted in BENCHMARKS.md.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism, loadavg, totalmem } from 'node:os'
import { ROOT } from '../../scripts/lib/services.ts'

export interface MachineInfo {
  date: string
  nproc: number
  cpuModel: string
  memoryGiB: number
  node: string
  gitCommit: string
  /** 1, 5 and 15 minute load averages when the benchmark started: other work on the machine. */
  loadAverage: number[]
}

function run (command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return 'unknown'
  }
}

export function machineInfo (): MachineInfo {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8')
  return {
    date: new Date().toISOString(),
    nproc: Number(run('nproc', [])) || availableParallelism(),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    gitCommit: run('git', ['rev-parse', '--short', 'HEAD']),
    loadAverage: loadavg().map(n => Math.round(n * 100) / 100)
  }
}

export function describeMachine (m: MachineInfo): string {
  return `${m.date} | ${m.nproc} cores (nproc), ${m.cpuModel}, ${m.memoryGiB} GiB | Node ${m.node} | commit ${m.gitCommit} | load average ${m.loadAverage.join(' ')}`
}
