import { readdir } from 'node:fs/promises'
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

export async function stagedFiles (config: Config): Promise<string[]> {
  return readdir(config.stagingDir).catch(() => [])
}
