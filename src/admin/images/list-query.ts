import { Types, type QueryFilter } from 'mongoose'
import { Type, type Static } from 'typebox'
import type { ImageModel, ImageRecord } from '../../models/image.ts'
import { normalizePhoneNumber } from '../../core/phone-number.ts'
import { customRange, presetRange, RANGE_CHOICES, type RangeKey, type TimeRange } from './date-ranges.ts'

export const SORT_COLUMNS = ['uploaded_at', 'phone_number', 'file_name', 'image_url'] as const
export type SortColumn = typeof SORT_COLUMNS[number]
export const PAGE_SIZES = [25, 50, 100] as const
/** Counting stops here: "10,000+" is as useful to a person as the exact number, and stays cheap. */
export const COUNT_CAP = 10_000

const CURSOR = '^[A-Za-z0-9_-]{1,600}$'

export const ListQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 200 })),
  range: Type.Optional(Type.Union([Type.Literal(''), ...RANGE_CHOICES.map(c => Type.Literal(c.key)), Type.Literal('custom')])),
  // Checked by the filter, which says what is wrong beside the form rather than on an error page.
  from: Type.Optional(Type.String({ maxLength: 100 })),
  to: Type.Optional(Type.String({ maxLength: 100 })),
  sort: Type.Optional(Type.Union(SORT_COLUMNS.map(c => Type.Literal(c)))),
  dir: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
  per: Type.Optional(Type.Union(PAGE_SIZES.map(n => Type.Literal(n)))),
  after: Type.Optional(Type.String({ pattern: CURSOR })),
  before: Type.Optional(Type.String({ pattern: CURSOR })),
  /** The page's number: shown, and without a cursor reached by skipping (see listPage). */
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 }))
})
export type ListQueryString = Static<typeof ListQuery>

/** A list request with every default applied. */
export interface ListParams {
  q: string
  range: '' | RangeKey | 'custom'
  from: string
  to: string
  sort: SortColumn
  dir: 'asc' | 'desc'
  per: number
  after?: string
  before?: string
  /** 1 for the first page. */
  page: number
}

export function listParams (query: ListQueryString): ListParams {
  const sort = query.sort ?? 'uploaded_at'
  return {
    q: (query.q ?? '').trim(),
    range: (query.range ?? '') as ListParams['range'],
    from: query.from ?? '',
    to: query.to ?? '',
    sort,
    // Newest first by default, as the original's ordering = ('-uploaded_at',); text columns A-Z.
    dir: query.dir ?? (sort === 'uploaded_at' ? 'desc' : 'asc'),
    per: query.per ?? 50,
    after: query.after,
    before: query.before,
    page: query.page ?? 1
  }
}

export class ListQueryError extends Error {
  override name = 'ListQueryError'
}

/** A mistake in the upload-time filter (a date that is none, a range that ends before it starts). */
export class DateFilterError extends ListQueryError {
  override name = 'DateFilterError'
}

/** Numbered pages are reached by skipping rows, so only as far as the count goes. */
export function lastSkippablePage (per: number): number {
  return Math.ceil(COUNT_CAP / per)
}

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const contains = (text: string) => ({ $regex: escapeRegex(text), $options: 'i' })

/**
 * Django's search_fields = ('phone_number', 'file_name'): every word must appear in one of the
 * two fields. Phone numbers match whatever way they are typed ("+1 (234) 567", "1234567"), as
 * their digits; a whole query that is a phone number is one term, spaces and all.
 */
function searchFilter (q: string): QueryFilter<ImageRecord>[] {
  if (q === '') return []
  const whole = normalizePhoneNumber(q)
  const terms = whole.ok ? [q] : q.split(/\s+/).slice(0, 10)
  return terms.map(term => {
    const phone = normalizePhoneNumber(term)
    const fields: QueryFilter<ImageRecord>[] = [{ file_name: contains(term) }]
    if (phone.ok) fields.push({ phone_number: contains(phone.phoneNumber) })
    return { $or: fields }
  })
}

export function timeRange (params: ListParams, now: Date, timeZone: string): TimeRange {
  if (params.range === '') return {}
  if (params.range !== 'custom') return presetRange(params.range, now, timeZone)
  const range = customRange(params.from, params.to, timeZone)
  if (typeof range === 'string') throw new DateFilterError(range)
  return range
}

export function listFilter (params: ListParams, now: Date, timeZone: string): QueryFilter<ImageRecord> {
  const clauses = searchFilter(params.q)
  const { from, to } = timeRange(params, now, timeZone)
  if (from || to) clauses.push({ uploaded_at: { ...(from && { $gte: from }), ...(to && { $lt: to }) } })
  return clauses.length === 0 ? {} : { $and: clauses }
}

// A keyset cursor names the row a page starts after (or ends before): its sort value and _id.
// Seeking from it costs the same on page 1 and page 2,000, where skip() would walk every
// earlier row.
interface Cursor {
  value: string | Date
  id: Types.ObjectId
}

export function encodeCursor (row: Pick<ImageRecord, SortColumn> & { _id: Types.ObjectId }, sort: SortColumn): string {
  const value = row[sort]
  const plain = value instanceof Date ? { d: value.getTime() } : { s: value }
  return Buffer.from(JSON.stringify({ ...plain, i: row._id.toHexString() })).toString('base64url')
}

export function decodeCursor (text: string, sort: SortColumn): Cursor {
  let parsed: { d?: unknown, s?: unknown, i?: unknown }
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
  } catch {
    throw new ListQueryError('The page link is damaged; start again from the first page.')
  }
  const id = typeof parsed.i === 'string' && /^[0-9a-f]{24}$/.test(parsed.i) ? new Types.ObjectId(parsed.i) : undefined
  const value = sort === 'uploaded_at'
    ? (typeof parsed.d === 'number' && Number.isFinite(parsed.d) ? new Date(parsed.d) : undefined)
    : (typeof parsed.s === 'string' ? parsed.s : undefined)
  if (!id || value === undefined) throw new ListQueryError('The page link is damaged; start again from the first page.')
  return { value, id }
}

/** Rows strictly beyond the cursor in the direction `dir`, with _id breaking ties. */
function seek (sort: SortColumn, dir: 'asc' | 'desc', cursor: Cursor): QueryFilter<ImageRecord> {
  const op = dir === 'desc' ? '$lt' : '$gt'
  return { $or: [{ [sort]: { [op]: cursor.value } }, { [sort]: cursor.value, _id: { [op]: cursor.id } }] }
}

export type ListRow = Pick<ImageRecord, SortColumn | 'variants'> & { _id: Types.ObjectId }

export interface ListPage {
  rows: ListRow[]
  /** Cursors for the neighbouring pages, when there are rows there. */
  next?: string
  prev?: string
  /** Matching records, counted up to COUNT_CAP. */
  total: number
  totalCapped: boolean
  /** This page's number (1 when nothing comes before it, whatever the link said). */
  page: number
  /** How many pages there are; undefined past COUNT_CAP, where nobody counted. */
  pages?: number
}

const flip = (dir: 'asc' | 'desc'): 'asc' | 'desc' => dir === 'asc' ? 'desc' : 'asc'
const order = (dir: 'asc' | 'desc'): 1 | -1 => dir === 'asc' ? 1 : -1

/**
 * One page of the list. Fetches one row more than the page to learn whether another page
 * follows, so no count is needed for the links. Every sort is backed by an index on
 * (column, _id), so on MongoDB a page reached by a cursor (Next, Previous) costs the same at any
 * depth. A numbered page without a cursor skips rows instead, which is allowed only within the
 * counted COUNT_CAP rows: a bounded cost, and the numbers shown are only the counted ones.
 */
export async function listPage (images: ImageModel, params: ListParams, now: Date, timeZone: string): Promise<ListPage> {
  const filter = listFilter(params, now, timeZone)
  const backwards = params.before !== undefined
  const cursorText = params.before ?? params.after
  const dir = backwards ? flip(params.dir) : params.dir
  const where = cursorText === undefined ? filter : { $and: [filter, seek(params.sort, dir, decodeCursor(cursorText, params.sort))] }
  if (cursorText === undefined && params.page > lastSkippablePage(params.per)) {
    throw new ListQueryError(`Numbered pages go up to ${lastSkippablePage(params.per).toLocaleString('en-US')} at ${params.per} a page; go further with Next.`)
  }
  const skip = cursorText === undefined ? (params.page - 1) * params.per : 0

  const [found, total] = await Promise.all([
    images.find(where, { phone_number: 1, file_name: 1, image_url: 1, uploaded_at: 1, variants: 1 })
      .sort({ [params.sort]: order(dir), _id: order(dir) })
      .skip(skip)
      .limit(params.per + 1)
      .lean<ListRow[]>(),
    images.countDocuments(filter, { limit: COUNT_CAP + 1 })
  ])
  const more = found.length > params.per
  const rows = found.slice(0, params.per)
  if (backwards) rows.reverse()
  const first = rows[0]
  const last = rows.at(-1)
  const cursor = (row: ListRow | undefined) => row && encodeCursor(row, params.sort)
  const prev = backwards ? (more ? cursor(first) : undefined) : (cursorText !== undefined || skip > 0 ? cursor(first) : undefined)
  const totalCapped = total > COUNT_CAP
  return {
    rows,
    // Coming from a later page, one follows; otherwise only if a row beyond the page was found.
    next: backwards || more ? cursor(last) : undefined,
    prev,
    total: Math.min(total, COUNT_CAP),
    totalCapped,
    // Rows added or removed since the link was made can shift the pages; the first stays first.
    page: prev === undefined && rows.length > 0 ? 1 : params.page,
    pages: totalCapped ? undefined : Math.max(1, Math.ceil(total / params.per))
  }
}
