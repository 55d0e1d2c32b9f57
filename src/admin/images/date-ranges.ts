import { isCalendarDate, wallClock, zonedInstant } from './time-zone.ts'

// The upload-time filter: Django admin's date choices plus any dates. Ranges are half-open,
// [from, to), in the operators' time zone.
export const RANGE_CHOICES = [
  { key: 'today', label: 'Today' },
  { key: '7d', label: 'Past 7 days' },
  { key: 'month', label: 'This month' },
  { key: 'year', label: 'This year' }
] as const

export type RangeKey = typeof RANGE_CHOICES[number]['key']

export interface TimeRange {
  from?: Date
  to?: Date
}

export function presetRange (key: RangeKey, now: Date, timeZone: string): TimeRange {
  const { year, month, day } = wallClock(now, timeZone)
  const at = (y: number, m: number, d: number): Date => zonedInstant({ year: y, month: m, day: d }, timeZone)
  switch (key) {
    case 'today': return { from: at(year, month, day), to: at(year, month, day + 1) }
    // As Django's "Past 7 days": from a week ago at midnight to the end of today.
    case '7d': return { from: at(year, month, day - 7), to: at(year, month, day + 1) }
    case 'month': return { from: at(year, month, 1), to: at(year, month + 1, 1) }
    case 'year': return { from: at(year, 1, 1), to: at(year + 1, 1, 1) }
  }
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/

function parseDate (value: string): { year: number, month: number, day: number } | undefined {
  const m = DATE.exec(value)
  if (!m) return undefined
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])]
  return isCalendarDate(year, month, day) ? { year, month, day } : undefined
}

/** From the start of `from` to the end of `to` (both days included); either may be empty. */
export function customRange (from: string, to: string, timeZone: string): TimeRange | string {
  const start = from === '' ? undefined : parseDate(from)
  const end = to === '' ? undefined : parseDate(to)
  if (from !== '' && !start) return `'${from}' is not a date (YYYY-MM-DD).`
  if (to !== '' && !end) return `'${to}' is not a date (YYYY-MM-DD).`
  const range: TimeRange = {
    from: start && zonedInstant(start, timeZone),
    to: end && zonedInstant({ ...end, day: end.day + 1 }, timeZone)
  }
  if (range.from && range.to && range.from >= range.to) return 'The start date is after the end date.'
  return range
}
