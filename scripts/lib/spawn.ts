// The one way our own processes (API, workers, benchmarks' helpers) are started as children by
// tests, the dev launcher and the benchmarks: node on a .ts entry, its
// output kept (in memory, or in a log file), stopped with SIGTERM then SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export const ROOT = resolve(import.meta.dirname, '../..')

/**
 * How the API and the workers are run everywhere (scripts/run.sh asks node for this value, the
 * dev launcher, the benchmarks, the tests; the Dockerfile passes it through NODE_OPTIONS). A 2 MiB young generation is collected often enough that the Buffers of
 * a streamed upload are freed as they go: without it a 1 GiB upload took the API to 250 MiB of
 * RSS, with it 175 MiB, at no measurable cost in throughput (BENCHMARKS.md).
 */
export const SERVICE_NODE_FLAGS = ['--max-semi-space-size=2']

/** Where Debian's libjemalloc2 puts the library (redis-server depends on it, so it is usually there). */
const JEMALLOC_PATHS = ['/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2', '/usr/lib/libjemalloc.so.2']

/**
 * The allocator of the variant worker (scripts/run.sh asks node for this value, the dev launcher
 * and the benchmarks use it; docker-compose.yml sets the same). sharp's libvips frees memory in
 * patterns glibc's malloc keeps: measured here, a worker rendering 50 MP JPEGs grew by ~40 MB an
 * image and a 12 MP HEIC + 50 MP JPEG run peaked at 455 MB. jemalloc returning freed pages at once
 * held it at ~100 MB between images and 300 MB at the peak (BENCHMARKS.md, "Variants"). Without
 * jemalloc, glibc's own limits help most of the way.
 */
export function variantWorkerEnv (): Record<string, string> {
  const jemalloc = JEMALLOC_PATHS.find(path => existsSync(path))
  return jemalloc
    ? { LD_PRELOAD: jemalloc, MALLOC_CONF: 'background_thread:true,dirty_decay_ms:0,muzzy_decay_ms:0' }
    : { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' }
}

export interface NodeChild {
  name: string
  process: ChildProcess
  /** Everything written to stdout and stderr so far (when not sent to a log file). */
  output: () => string
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<number | string>
  /** SIGTERM (a graceful close), SIGKILL after `graceMs`. */
  stop: (graceMs?: number) => Promise<void>
}

export interface SpawnNodeOptions {
  env: NodeJS.ProcessEnv
  args?: string[]
  /** Node flags: SERVICE_NODE_FLAGS for the API and workers, plus any others (e.g. --cpu-prof). */
  nodeArgs?: string[]
  /** Write stdout and stderr to this file instead of keeping them in memory. */
  logFile?: string
  /** With logFile: keep stdout a pipe (a child that prints its address there). */
  pipeStdout?: boolean
  /** Show the output in this terminal (the dev launcher). */
  inherit?: boolean
}

const running = new Set<NodeChild>()
// Never outlive the process that started them, even one that dies without cleaning up.
process.once('exit', () => {
  for (const child of running) if (child.process.exitCode === null) child.process.kill('SIGKILL')
})

export function spawnNode (name: string, script: string, options: SpawnNodeOptions): NodeChild {
  let stdio: Array<'ignore' | 'pipe' | 'inherit' | number> = ['ignore', 'pipe', 'pipe']
  let log: number | undefined
  if (options.inherit) stdio = ['ignore', 'inherit', 'inherit']
  if (options.logFile) {
    mkdirSync(dirname(options.logFile), { recursive: true })
    log = openSync(options.logFile, 'a')
    stdio = ['ignore', options.pipeStdout ? 'pipe' : log, log]
  }
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...(options.args ?? [])], { cwd: ROOT, env: options.env, stdio })
  if (log !== undefined) closeSync(log)
  let output = ''
  if (!options.logFile) {
    child.stdout?.on('data', (d: Buffer) => { output += d })
    child.stderr?.on('data', (d: Buffer) => { output += d })
  }
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string)
  const handle: NodeChild = { name, process: child, output: () => output, exited, stop: graceMs => stopChild(handle, graceMs) }
  running.add(handle)
  void exited.then(() => running.delete(handle))
  return handle
}

async function stopChild (child: NodeChild, graceMs = 15_000): Promise<void> {
  const proc = child.process
  if (proc.exitCode !== null || proc.signalCode !== null) return
  proc.kill('SIGTERM')
  if (!await Promise.race([child.exited.then(() => true), sleep(graceMs).then(() => false)])) {
    proc.kill('SIGKILL')
    await child.exited
  }
}

export async function stopAllChildren (): Promise<void> {
  await Promise.all([...running].map(c => c.stop()))
}
