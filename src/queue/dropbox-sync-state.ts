// Everything the Dropbox sync keeps between runs, in Redis where every worker process sees it:
// its position in Dropbox's change feed, the bookkeeping of the listing or change set under way
// (so a run killed at any point resumes it), files left for a later run, the one-at-a-time lease,
// and the last run's report for the admin. Losing it all costs one full listing, nothing more.
import type { Redis } from 'ioredis'
import type { RemoteFile } from '../core/remote-file.ts'
import { RedisLease } from './redis-lease.ts'
import type { SyncTrigger } from './dropbox-sync-jobs.ts'

/**
 * start: a full listing is to begin (no cursor yet). paging: `cursor` continues the listing or
 * change set under way. finishing: its last page is recorded, what comes at its end (deletions,
 * the listing's sweep) may not be. resting: `cursor` follows the changes since the last set.
 */
export type SyncStage = 'start' | 'paging' | 'finishing' | 'resting'

export interface SyncPosition {
  mode: 'listing' | 'changes'
  stage: SyncStage
  cursor: string
  /** Names the listing or change set under way; the audit events of its deletions derive from it. */
  set: string
}

export interface SyncRunReport {
  trigger: SyncTrigger
  startedAt: string
  finishedAt: string
  outcome: 'completed' | 'interrupted' | 'failed'
  error?: string
  /** Whether the run listed everything (the first sync, or after Dropbox reset the cursor). */
  fullListing: boolean
  pages: number
  created: number
  updated: number
  deleted: number
  /** Files our own workers are storing right now, left for a later run. */
  deferred: number
}

export interface SyncStatus {
  last: SyncRunReport | undefined
  /** The run under way, if any. */
  running: { trigger: SyncTrigger, startedAt: string } | undefined
}

/** A page's bookkeeping, written with the page's cursor in one atomic, fenced step. */
export interface PageBookkeeping {
  /** Ids of the files a listing has shown so far (its sweep removes the records of the others). */
  seen?: string[]
  /** Paths Dropbox reported deleted, applied at the end of the set (a move's new path may come later). */
  deleted?: string[]
  defer?: RemoteFile[]
  undefer?: string[]
}

/** How long a file being stored by a worker is left alone by the sync (a longer-dead worker's file gets a record). */
export const COMMITTING_TTL_MS = 10 * 60_000

// Runs the commands only while the lease still holds our token: a sync that lost its lease (it
// stalled, another took over) cannot move the shared position.
const FENCED = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for _, command in ipairs(cjson.decode(ARGV[2])) do redis.call(unpack(command)) end
return 1`

// One count per upload in flight: two uploads of the same bytes to one folder each hold it.
const UNMARK = `
local left = redis.call('DECR', KEYS[1])
if left <= 0 then redis.call('DEL', KEYS[1]) end
return left`

const CHUNK = 500
const STAGES = new Set(['start', 'paging', 'finishing', 'resting'])

export class LeaseLostError extends Error {
  override name = 'LeaseLostError'
}

export class DropboxSyncState {
  readonly #redis: Redis
  readonly #key: (name: string) => string

  constructor (redis: Redis, prefix: string) {
    this.#redis = redis
    this.#key = name => `${prefix}:dropbox-sync:${name}`
  }

  /** The one-at-a-time lease of the sync; a dead holder's lease ends after `ttlMs`. */
  lease (ttlMs: number): RedisLease {
    return new RedisLease(this.#redis, this.#key('lock'), ttlMs)
  }

  async position (): Promise<SyncPosition | undefined> {
    const p = await this.#redis.hgetall(this.#key('position'))
    if ((p.mode !== 'listing' && p.mode !== 'changes') || !STAGES.has(p.stage ?? '') || p.cursor === undefined || !p.set) return undefined
    return { mode: p.mode, stage: p.stage as SyncStage, cursor: p.cursor, set: p.set }
  }

  /** Starts a full listing afresh: whatever the previous listing or set had noted is dropped. */
  async beginListing (token: string, set: string): Promise<SyncPosition> {
    const position: SyncPosition = { mode: 'listing', stage: 'start', cursor: '', set }
    await this.#fenced(token, [
      ['DEL', this.#key('seen'), this.#key('deleted')],
      this.#positionCommand(position)
    ])
    return position
  }

  /** Moves to `position` and notes what the page that led there showed. */
  async savePage (token: string, position: SyncPosition, notes: PageBookkeeping): Promise<void> {
    const commands: unknown[][] = [this.#positionCommand(position)]
    for (const ids of chunks(notes.seen ?? [])) commands.push(['SADD', this.#key('seen'), ...ids])
    for (const paths of chunks(notes.deleted ?? [])) commands.push(['SADD', this.#key('deleted'), ...paths])
    for (const ids of chunks(notes.undefer ?? [])) commands.push(['HDEL', this.#key('deferred'), ...ids])
    for (const files of chunks(notes.defer ?? [])) commands.push(['HSET', this.#key('deferred'), ...files.flatMap(f => [f.id, JSON.stringify(f)])])
    await this.#fenced(token, commands)
  }

  /** The set is done: follow the changes from its last cursor on, its bookkeeping dropped. */
  async rest (token: string, position: SyncPosition): Promise<SyncPosition> {
    const resting: SyncPosition = { ...position, mode: 'changes', stage: 'resting' }
    await this.#fenced(token, [
      this.#positionCommand(resting),
      ['DEL', this.#key('seen'), this.#key('deleted')]
    ])
    return resting
  }

  async undefer (token: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.#fenced(token, chunks(ids).map(part => ['HDEL', this.#key('deferred'), ...part]))
  }

  /** Which of these ids the listing under way has shown. */
  async seen (ids: string[]): Promise<boolean[]> {
    const found: boolean[] = []
    for (const part of chunks(ids)) found.push(...(await this.#redis.smismember(this.#key('seen'), ...part)).map(n => n === 1))
    return found
  }

  async deletedPaths (): Promise<string[]> {
    return this.#redis.smembers(this.#key('deleted'))
  }

  async deferred (): Promise<RemoteFile[]> {
    const entries = Object.values(await this.#redis.hgetall(this.#key('deferred')))
    return entries.map(json => {
      const file = JSON.parse(json) as RemoteFile & { serverModified: string }
      return { ...file, serverModified: new Date(file.serverModified) }
    })
  }

  // A worker marks a file while it stores it: the sync, seeing the new file in Dropbox before the
  // worker has recorded it, leaves it to the worker instead of recording it a second time.

  async markCommitting (folder: string, contentHash: string): Promise<void> {
    const key = this.#committingKey(folder, contentHash)
    await this.#redis.multi().incr(key).pexpire(key, COMMITTING_TTL_MS).exec()
  }

  async unmarkCommitting (folder: string, contentHash: string): Promise<void> {
    await this.#redis.eval(UNMARK, 1, this.#committingKey(folder, contentHash))
  }

  async committing (files: Array<{ folder: string, contentHash: string }>): Promise<boolean[]> {
    if (files.length === 0) return []
    const values = await this.#redis.mget(files.map(f => this.#committingKey(f.folder, f.contentHash)))
    return values.map(v => v !== null && Number(v) > 0)
  }

  // What the admin shows.

  async markRunning (running: NonNullable<SyncStatus['running']>): Promise<void> {
    await this.#redis.set(this.#key('running'), JSON.stringify(running))
  }

  async recordRun (report: SyncRunReport): Promise<void> {
    await this.#redis.multi().set(this.#key('last'), JSON.stringify(report)).del(this.#key('running')).exec()
  }

  async status (): Promise<SyncStatus> {
    const [last, running, held] = await Promise.all([
      this.#redis.get(this.#key('last')),
      this.#redis.get(this.#key('running')),
      this.#redis.exists(this.#key('lock'))
    ])
    return {
      last: last ? JSON.parse(last) as SyncRunReport : undefined,
      // A run killed mid-way leaves its note behind; only a held lease means one is under way.
      running: running && held ? JSON.parse(running) as SyncStatus['running'] : undefined
    }
  }

  #committingKey (folder: string, contentHash: string): string {
    return this.#key(`committing:${folder}:${contentHash}`)
  }

  #positionCommand (p: SyncPosition): unknown[] {
    return ['HSET', this.#key('position'), 'mode', p.mode, 'stage', p.stage, 'cursor', p.cursor, 'set', p.set]
  }

  async #fenced (token: string, commands: unknown[][]): Promise<void> {
    const done = await this.#redis.eval(FENCED, 1, this.#key('lock'), token, JSON.stringify(commands))
    if (done !== 1) throw new LeaseLostError('the Dropbox sync lost its lease: another run has taken over')
  }
}

function chunks<T> (items: T[]): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK))
  return out
}
