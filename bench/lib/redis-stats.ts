// Redis work per request, from INFO commandstats: how many commands (and Lua scripts) each
// upload costs, and the server CPU they took.
import { Redis } from 'ioredis'

export interface CommandStats {
  calls: number
  usec: number
}

async function read (redis: Redis): Promise<Map<string, CommandStats>> {
  const info = await redis.info('commandstats')
  const stats = new Map<string, CommandStats>()
  for (const line of info.split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim())
    if (match) stats.set(match[1]!, { calls: Number(match[2]), usec: Number(match[3]) })
  }
  return stats
}

export class RedisCommandMeter {
  readonly #redis: Redis
  readonly #before: Map<string, CommandStats>

  private constructor (redis: Redis, before: Map<string, CommandStats>) {
    this.#redis = redis
    this.#before = before
  }

  static async start (url: string): Promise<RedisCommandMeter> {
    const redis = new Redis(url, { maxRetriesPerRequest: 1 })
    return new RedisCommandMeter(redis, await read(redis))
  }

  /** Commands per unit of work, most frequent first, plus the total. */
  async stop (units: number): Promise<{ perRequest: number, usecPerRequest: number, top: Array<{ command: string, perRequest: number }> }> {
    const after = await read(this.#redis)
    this.#redis.disconnect()
    const deltas = [...after].map(([command, s]) => {
      const b = this.#before.get(command) ?? { calls: 0, usec: 0 }
      return { command, calls: s.calls - b.calls, usec: s.usec - b.usec }
    }).filter(d => d.calls > 0 && d.command !== 'info')
    const round = (n: number): number => Math.round(n / units * 100) / 100
    return {
      perRequest: round(deltas.reduce((a, d) => a + d.calls, 0)),
      usecPerRequest: round(deltas.reduce((a, d) => a + d.usec, 0)),
      top: deltas.sort((a, b) => b.calls - a.calls).slice(0, 12).map(d => ({ command: d.command, perRequest: round(d.calls) }))
    }
  }
}
