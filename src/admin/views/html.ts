// HTML from tagged templates. Every interpolated value is escaped unless it is already Html
// (the output of html`` or of a helper below), so a record's fields can never become markup.

const SAFE = Symbol('html')

export interface Html {
  readonly [SAFE]: true
  readonly text: string
}

type Value = Html | string | number | boolean | null | undefined | readonly Value[]

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' }

export function escapeHtml (text: string): string {
  return text.replace(/[&<>"'`]/g, c => ESCAPES[c]!)
}

function trusted (text: string): Html {
  return { [SAFE]: true, text }
}

function isHtml (value: unknown): value is Html {
  return typeof value === 'object' && value !== null && SAFE in value
}

function render (value: Value): string {
  if (value === null || value === undefined || value === false) return ''
  if (isHtml(value)) return value.text
  if (Array.isArray(value)) return value.map(render).join('')
  return escapeHtml(String(value))
}

export function html (strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0]!
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!
  return trusted(out)
}

/** A URL that may go into href/src: http(s) only, so a stored "javascript:" URL stays text. */
export function safeUrl (url: string): string | undefined {
  try {
    const parsed = new URL(url)
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : undefined
  } catch {
    return undefined
  }
}

/** A query string from parameters, leaving out empty ones. */
export function query (params: Record<string, string | undefined>): string {
  const search = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') search.set(k, v)
  const text = search.toString()
  return text === '' ? '' : `?${text}`
}
