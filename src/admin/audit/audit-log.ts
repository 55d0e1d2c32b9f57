import { Types, type QueryFilter } from 'mongoose'
import { recordAuditEvent, type AuditEventInput, type AuditEventModel, type AuditEventRecord } from '../../models/audit-event.ts'

export type AuditRow = AuditEventRecord & { _id: Types.ObjectId }

export interface AuditPage {
  rows: AuditRow[]
  /** Cursors for the neighbouring pages (older, newer), when there are rows there. */
  older?: string
  newer?: string
}

export interface AuditQuery {
  actor?: string
  action?: string
  /** Rows older than this cursor (the next page) or newer than it (the previous one). */
  older?: string
  newer?: string
  per: number
}

export class AuditCursorError extends Error {
  override name = 'AuditCursorError'
}

const encode = (row: AuditRow): string => Buffer.from(JSON.stringify({ t: row.at.getTime(), i: row._id.toHexString() })).toString('base64url')

function decode (text: string): { at: Date, id: Types.ObjectId } {
  try {
    const parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as { t?: unknown, i?: unknown }
    if (typeof parsed.t === 'number' && Number.isFinite(parsed.t) && typeof parsed.i === 'string' && /^[0-9a-f]{24}$/.test(parsed.i)) {
      return { at: new Date(parsed.t), id: new Types.ObjectId(parsed.i) }
    }
  } catch {}
  throw new AuditCursorError('The page link is damaged; start again from the newest events.')
}

/**
 * The audit trail of the panel: appended to as operators act, read newest first a page at a
 * time, seeking from the last row shown (as the image list does) so an old page costs what the
 * first does.
 */
export class AuditLog {
  readonly #events: AuditEventModel
  readonly #onError: (err: unknown, event: AuditEventInput) => void

  constructor (events: AuditEventModel, onError: (err: unknown, event: AuditEventInput) => void) {
    this.#events = events
    this.#onError = onError
  }

  /**
   * Appends an event. The action it records has already happened, so a failure to write it is
   * logged (as an error, with the event) rather than turned into a failed request.
   */
  async record (event: AuditEventInput): Promise<void> {
    try {
      await recordAuditEvent(this.#events, event)
    } catch (err) {
      this.#onError(err, event)
    }
  }

  async page (query: AuditQuery): Promise<AuditPage> {
    const filter: QueryFilter<AuditEventRecord> = {}
    if (query.actor) filter.actor = query.actor
    if (query.action) filter.action = query.action
    const backwards = query.newer !== undefined
    const cursorText = query.newer ?? query.older
    const op = backwards ? '$gt' : '$lt'
    let where: QueryFilter<AuditEventRecord> = filter
    if (cursorText !== undefined) {
      const cursor = decode(cursorText)
      where = { $and: [filter, { $or: [{ at: { [op]: cursor.at } }, { at: cursor.at, _id: { [op]: cursor.id } }] }] }
    }
    const order = backwards ? 1 : -1
    const found = await this.#events.find(where).sort({ at: order, _id: order }).limit(query.per + 1).lean<AuditRow[]>()
    const more = found.length > query.per
    const rows = found.slice(0, query.per)
    if (backwards) rows.reverse()
    const first = rows[0]
    const last = rows.at(-1)
    return {
      rows,
      older: last && (backwards || more) ? encode(last) : undefined,
      newer: first && (backwards ? more : cursorText !== undefined) ? encode(first) : undefined
    }
  }
}
