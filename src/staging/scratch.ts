import { readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * With STAGING=s3 the staging directory is each process's scratch: the API's files until they
 * are in the bucket (no request lasts an hour), a worker's downloads until their job ends. What
 * is older was left by a process that died.
 */
export const SCRATCH_MAX_AGE_MS = 60 * 60 * 1000

/** Removes the files directly in `dir` untouched for longer than maxAgeMs; returns how many. */
export async function sweepScratch (dir: string, maxAgeMs = SCRATCH_MAX_AGE_MS, now = Date.now()): Promise<number> {
  let removed = 0
  for (const name of await readdir(dir).catch(() => [])) {
    const path = join(dir, name)
    const info = await stat(path).catch(() => undefined)
    if (!info?.isFile() || now - info.mtimeMs < maxAgeMs) continue
    await rm(path, { force: true })
    removed++
  }
  return removed
}
