import type { Test } from 'tap'
import { SERVICE_NODE_FLAGS, spawnNode, type NodeChild } from '../../scripts/lib/spawn.ts'
import { waitFor } from '../../scripts/lib/wait-for.ts'

/** Runs an entry point (`src/server.ts`, a worker) the way production does; killed at teardown. */
export function spawnProcess (t: Test, script: string, env: Record<string, string>): NodeChild {
  const child = spawnNode(script, script, { env: { ...process.env, ...env }, nodeArgs: SERVICE_NODE_FLAGS })
  t.teardown(() => child.stop(0))
  return child
}

export async function waitForHealth (base: string): Promise<void> {
  await waitFor(() => fetch(`${base}/health`).then(r => r.ok), { what: `${base}/health to answer 200` })
}
