import type { Types } from 'mongoose'
import { RANGE_CHOICES } from '../images/date-ranges.ts'
import { lastSkippablePage, PAGE_SIZES, SORT_COLUMNS, type ListPage, type ListParams, type SortColumn } from '../images/list-query.ts'
import { formatDateTime } from '../images/time-zone.ts'
import { html, query, safeUrl, type Html } from './html.ts'
import { csrfField, layout, type PageContext } from './layout.ts'

const LABELS: Record<SortColumn, string> = {
  phone_number: 'Phone number',
  file_name: 'File name',
  image_url: 'Image URL',
  uploaded_at: 'Uploaded at'
}

/** The list's URL with the current search, filter and order, changed by `change`. Pages restart. */
export function listUrl (params: ListParams, change: Partial<Record<keyof ListParams, string | number | undefined>> = {}): string {
  const merged: Record<string, string | undefined> = {
    q: params.q,
    range: params.range,
    from: params.range === 'custom' ? params.from : undefined,
    to: params.range === 'custom' ? params.to : undefined,
    sort: params.sort,
    dir: params.dir,
    per: String(params.per)
  }
  for (const [k, v] of Object.entries(change)) merged[k] = v === undefined ? undefined : String(v)
  // Defaults stay out of the URL: newest first, text columns A-Z, 50 a page.
  if (merged.dir === (merged.sort === 'uploaded_at' ? 'desc' : 'asc')) merged.dir = undefined
  if (merged.sort === 'uploaded_at') merged.sort = undefined
  if (merged.per === '50') merged.per = undefined
  if (merged.page === '1') merged.page = undefined
  return `/admin/images${query(merged)}`
}

/** What the panel needs of a record to show its preview: its id and its renderings' state. */
export interface Previewable {
  _id: Types.ObjectId
  variants?: { status: 'ready' | 'failed', reason?: string | null } | null
}

/** Why an image has no preview, or undefined when it has one. */
export function noPreviewReason (image: Previewable): string | undefined {
  const variants = image.variants
  if (variants?.status === 'ready') return undefined
  return variants?.status === 'failed'
    ? `No preview: ${variants.reason ?? 'the image cannot be rendered'}`
    : 'The preview is being made'
}

/**
 * An image's preview from the service's own rendering URLs (/i/{id}/thumbnail or /display): same
 * origin (the CSP's img-src 'self'), and not a byte of Dropbox shared-link traffic. Where there
 * is no rendering, a placeholder saying why.
 */
export function thumbnail (image: Previewable, size: number, rendering: 'thumbnail' | 'display' = 'thumbnail'): Html {
  const why = noPreviewReason(image)
  if (why === undefined) {
    return html`<img class="thumb" src="/i/${image._id.toHexString()}/${rendering}" alt="" loading="lazy" width="${size}" height="${size}">`
  }
  const label = image.variants?.status === 'failed' ? 'No preview' : 'Preview soon'
  return html`<span class="thumb missing size-${size}" role="img" aria-label="${why}" title="${why}"><span class="why">${label}</span></span>`
}

function sortHeader (params: ListParams, column: SortColumn): Html {
  const active = params.sort === column
  const dir = active ? (params.dir === 'asc' ? 'desc' : 'asc') : (column === 'uploaded_at' ? 'desc' : 'asc')
  const arrow = active ? (params.dir === 'asc' ? ' ▲' : ' ▼') : ''
  const ariaSort = active ? (params.dir === 'asc' ? 'ascending' : 'descending') : 'none'
  return html`<th scope="col" aria-sort="${ariaSort}"><a href="${listUrl(params, { sort: column, dir })}">${LABELS[column]}${arrow}</a></th>`
}

/** The dates as typed, when they could not be used, and why. */
export interface DateFormError {
  from: string
  to: string
  message: string
}

function filters (params: ListParams, dateError?: DateFormError): Html {
  const choice = (key: string, label: string): Html => params.range === key
    ? html`<li><strong aria-current="true">${label}</strong></li>`
    : html`<li><a href="${listUrl(params, { range: key, from: undefined, to: undefined })}">${label}</a></li>`
  return html`<aside class="filters" aria-label="Filter">
  <h2>By upload time</h2>
  <ul>${choice('', 'Any date')}${RANGE_CHOICES.map(c => choice(c.key, c.label))}</ul>
  <form method="get" action="/admin/images" class="custom-range${dateError ? ' invalid' : ''}">
    <input type="hidden" name="q" value="${params.q}">
    <input type="hidden" name="range" value="custom">
    <label>From <input type="date" name="from" value="${dateError ? dateError.from : params.range === 'custom' ? params.from : ''}"${dateError ? html` aria-invalid="true" aria-describedby="date-error"` : ''}></label>
    <label>To <input type="date" name="to" value="${dateError ? dateError.to : params.range === 'custom' ? params.to : ''}"${dateError ? html` aria-invalid="true" aria-describedby="date-error"` : ''}></label>
    ${dateError ? html`<p class="error" id="date-error" role="alert">${dateError.message} The list below is not filtered by date.</p>` : ''}
    <button type="submit">Apply dates</button>
  </form>
</aside>`
}

/**
 * The page numbers to link: the first, the two either side of the current one, and the last when
 * it was counted, with null where numbers are left out. Only pages within the counted rows get a
 * number link (they are reached by skipping rows); past them, more pages follow uncounted.
 */
export function pageNumbers (current: number, pages: number | undefined, linkable: number): Array<number | null> {
  const last = Math.min(pages ?? linkable, linkable)
  const shown = new Set([1, current, last])
  for (let n = current - 2; n <= current + 2; n++) if (n >= 1 && n <= last) shown.add(n)
  const out: Array<number | null> = []
  for (const n of [...shown].sort((a, b) => a - b)) {
    const before = out.at(-1)
    if (typeof before === 'number' && n > before + 1) out.push(null)
    out.push(n)
  }
  if (pages === undefined) out.push(null)
  return out
}

function pageOf (page: ListPage, params: ListParams): string {
  if (page.pages !== undefined) return `Page ${page.page} of ${page.pages.toLocaleString('en-US')}`
  const counted = lastSkippablePage(params.per)
  return page.page <= counted ? `Page ${page.page} of more than ${counted.toLocaleString('en-US')}` : `Page ${page.page.toLocaleString('en-US')}`
}

function pager (params: ListParams, page: ListPage): Html {
  const current = page.page
  const atFirst = current === 1
  const numbers = pageNumbers(current, page.pages, lastSkippablePage(params.per))
  return html`<nav class="pager" aria-label="Pages">
  <span class="page-of" data-testid="page-of">${pageOf(page, params)}</span>
  <span class="steps">
  ${atFirst ? html`<span class="disabled">« First</span>` : html`<a href="${listUrl(params)}">« First</a>`}
  ${page.prev ? html`<a rel="prev" href="${listUrl(params, { before: page.prev, page: Math.max(1, current - 1) })}">‹ Previous</a>` : html`<span class="disabled">‹ Previous</span>`}
  ${page.next ? html`<a rel="next" href="${listUrl(params, { after: page.next, page: current + 1 })}">Next ›</a>` : html`<span class="disabled">Next ›</span>`}
  </span>
  <span class="numbers">${numbers.map(n => n === null
    ? html`<span class="gap">…</span> `
    : n === current
      ? html`<strong aria-current="page">${n}</strong> `
      : html`<a href="${listUrl(params, { page: n })}" aria-label="Page ${n}">${n}</a> `)}</span>
  <span class="per">Per page: ${PAGE_SIZES.map(n => n === params.per ? html`<strong>${n}</strong> ` : html`<a href="${listUrl(params, { per: n })}">${n}</a> `)}</span>
</nav>`
}

/** What went wrong with the request, shown on the page instead of an error page. */
export interface ListProblems {
  /** The date filter could not be applied. */
  dates?: DateFormError
  /** A page link was damaged or went too far: the first page is shown instead. */
  page?: string
}

/** `databaseNote`: what to know about the database answering (admin/images/database-engine.ts). */
export function imageListPage (ctx: PageContext, params: ListParams, page: ListPage, timeZone: string, problems: ListProblems = {}, databaseNote?: string): Html {
  const count = page.totalCapped ? `more than ${page.total.toLocaleString('en-US')}` : page.total.toLocaleString('en-US')
  const filtered = params.q !== '' || params.range !== '' || problems.dates !== undefined
  const body = html`<h1>Images</h1>
${problems.page ? html`<p class="flash error" role="alert">${problems.page}</p>` : ''}
<div class="list-layout">
<section class="results">
  <form method="get" action="/admin/images" class="search" role="search">
    <input type="search" name="q" value="${params.q}" placeholder="Phone number or file name" aria-label="Search by phone number or file name">
    ${params.range !== '' ? html`<input type="hidden" name="range" value="${params.range}">` : ''}
    ${params.range === 'custom' ? html`<input type="hidden" name="from" value="${params.from}"><input type="hidden" name="to" value="${params.to}">` : ''}
    <button type="submit">Search</button>
    ${filtered ? html`<a href="/admin/images">Clear search and filter</a>` : ''}
  </form>
  <p class="count" data-testid="count">${count} ${page.total === 1 && !page.totalCapped ? 'record' : 'records'}${params.q !== '' || params.range !== '' ? ' match' : ''}${problems.dates ? ' (dates not applied)' : ''}</p>
  ${databaseNote ? html`<p class="hint" data-testid="database-note">${databaseNote}</p>` : ''}
  <form method="post" action="/admin/images/delete" id="bulk">
    ${csrfField(ctx.csrfToken)}
    <input type="hidden" name="back" value="${listUrl(params, { after: params.after, before: params.before, page: params.page })}">
    <table class="images">
      <thead><tr>
        <th scope="col" class="select"><input type="checkbox" data-select-all aria-label="Select all on this page"></th>
        <th scope="col" class="image">Image</th>
        ${SORT_COLUMNS.filter(c => c !== 'uploaded_at').map(c => sortHeader(params, c))}
        ${sortHeader(params, 'uploaded_at')}
      </tr></thead>
      <tbody>
      ${page.rows.length === 0 ? html`<tr><td colspan="6" class="empty">No images${filtered ? ' match' : ''}.</td></tr>` : ''}
      ${page.rows.map(row => {
        const id = row._id.toHexString()
        const href = `/admin/images/${id}`
        const url = safeUrl(row.image_url)
        return html`<tr>
        <td class="select"><input type="checkbox" name="ids" value="${id}" aria-label="Select ${row.file_name}"></td>
        <td class="thumb-cell"><a href="${href}">${thumbnail(row, 64)}</a></td>
        <td class="phone">${row.phone_number}</td>
        <td class="file"><a href="${href}">${row.file_name}</a></td>
        <td class="url">${url ? html`<a href="${url}" rel="noopener noreferrer" target="_blank">${row.image_url}</a>` : row.image_url}</td>
        <td class="time"><time datetime="${row.uploaded_at.toISOString()}">${formatDateTime(row.uploaded_at, timeZone)}</time></td>
      </tr>`
      })}
      </tbody>
    </table>
    <p class="actions"><button type="submit" name="action" value="confirm">Delete selected…</button></p>
  </form>
  ${pager(params, page)}
  <p class="hint">Times are in ${timeZone}.</p>
</section>
${filters(params, problems.dates)}
</div>`
  return layout('Images', ctx, body, 'images')
}
