import { readdir } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { Queue } from 'bullmq'
import type { Config } from '../../src/config.ts'
import { UPLOAD_QUEUE } from '../../src/queue/upload-jobs.ts'

/** Jobs of every state in this test's queue. */
export async function jobCount (config: Config): Promise<number> {
  const queue = new Queue(UPLOAD_QUEUE, { connection: { url: config.redisUrl }, prefix: config.queuePrefix })
  try {
    const counts = await queue.getJobCounts()
    return Object.values(counts).reduce((a, b) => a + b, 0)
  } finally {
    await queue.close()
  }
}

/** Every file under the staging directory, in subdirectories too (resumable uploads keep theirs there). */
export async function stagedFiles (config: Config): Promise<string[]> {
  const entries = await readdir(config.stagingDir, { recursive: true, withFileTypes: true }).catch(() => [])
  return entries.filter(e => e.isFile()).map(e => relative(config.stagingDir, join(e.parentPath, e.name))).sort()
}
