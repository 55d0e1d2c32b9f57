// Wall-clock arithmetic in the operators' time zone (ADMIN_TIME_ZONE) with Intl only: "today"
// and "this month" begin at local midnight, and times are shown and edited as local times.

export interface WallClock {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
}

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter (timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit'
    })
    formatters.set(timeZone, f)
  }
  return f
}

export function wallClock (date: Date, timeZone: string): WallClock {
  const parts: Record<string, number> = {}
  for (const p of formatter(timeZone).formatToParts(date)) if (p.type !== 'literal') parts[p.type] = Number(p.value)
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour! % 24, minute: parts.minute!, second: parts.second! }
}

/** How far the zone's wall clock is ahead of UTC at instant `ms`. */
function offsetAt (ms: number, timeZone: string): number {
  const w = wallClock(new Date(ms), timeZone)
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(ms / 1000) * 1000
}

/**
 * The instant a wall-clock time names in the zone. Days and months may overflow (day 32 is the
 * next month's 1st). A time skipped by a DST jump resolves to the instant after the jump.
 */
export function zonedInstant (w: Partial<WallClock> & Pick<WallClock, 'year' | 'month' | 'day'>, timeZone: string): Date {
  const naive = Date.UTC(w.year, w.month - 1, w.day, w.hour ?? 0, w.minute ?? 0, w.second ?? 0)
  let instant = naive - offsetAt(naive, timeZone)
  const corrected = naive - offsetAt(instant, timeZone)
  if (corrected !== instant) instant = Math.max(instant, corrected)
  return new Date(instant)
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0')

/** "2024-12-17 12:30:45", local to the zone. */
export function formatDateTime (date: Date, timeZone: string): string {
  const w = wallClock(date, timeZone)
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`
}

/** The value of an <input type="datetime-local" step="1">. */
export function toDateTimeLocal (date: Date, timeZone: string): string {
  return formatDateTime(date, timeZone).replace(' ', 'T')
}

const LOCAL_INPUT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/

/** Parses a datetime-local value as a time in the zone; undefined when it is not one. */
export function fromDateTimeLocal (value: string, timeZone: string): Date | undefined {
  const m = LOCAL_INPUT.exec(value.trim())
  if (!m) return undefined
  const [year, month, day, hour, minute, second] = m.slice(1).map(v => Number(v ?? 0)) as [number, number, number, number, number, number]
  if (!isCalendarDate(year, month, day) || hour > 23 || minute > 59 || second > 59) return undefined
  return zonedInstant({ year, month, day, hour, minute, second }, timeZone)
}

/** False for dates such as 2024-02-30, which Date.UTC would silently roll over. */
export function isCalendarDate (year: number, month: number, day: number): boolean {
  const check = new Date(Date.UTC(year, month - 1, day))
  return check.getUTCFullYear() === year && check.getUTCMonth() === month - 1 && check.getUTCDate() === day
}
