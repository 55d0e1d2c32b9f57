import { RANGE_CHOICES } from '../images/date-ranges.ts'
import { PAGE_SIZES, SORT_COLUMNS, type ListPage, type ListParams, type SortColumn } from '../images/list-query.ts'
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
  return `/admin/images${query(merged)}`
}

export function thumbnail (imageUrl: string, size: number): Html {
  const src = safeUrl(imageUrl)
  // No referrer (helmet's policy) and no bytes through us: the browser loads the image itself.
  return src
    ? html`<img class="thumb" src="${src}" alt="" loading="lazy" width="${size}" height="${size}">`
    : html`<span class="thumb missing size-${size}" title="Not an http(s) URL"></span>`
}

function sortHeader (params: ListParams, column: SortColumn): Html {
  const active = params.sort === column
  const dir = active ? (params.dir === 'asc' ? 'desc' : 'asc') : (column === 'uploaded_at' ? 'desc' : 'asc')
  const arrow = active ? (params.dir === 'asc' ? ' ▲' : ' ▼') : ''
  const ariaSort = active ? (params.dir === 'asc' ? 'ascending' : 'descending') : 'none'
  return html`<th scope="col" aria-sort="${ariaSort}"><a href="${listUrl(params, { sort: column, dir })}">${LABELS[column]}${arrow}</a></th>`
}

function filters (params: ListParams): Html {
  const choice = (key: string, label: string): Html => params.range === key
    ? html`<li><strong aria-current="true">${label}</strong></li>`
    : html`<li><a href="${listUrl(params, { range: key, from: undefined, to: undefined })}">${label}</a></li>`
  return html`<aside class="filters" aria-label="Filter">
  <h2>By upload time</h2>
  <ul>${choice('', 'Any date')}${RANGE_CHOICES.map(c => choice(c.key, c.label))}</ul>
  <form method="get" action="/admin/images" class="custom-range">
    <input type="hidden" name="q" value="${params.q}">
    <input type="hidden" name="range" value="custom">
    <label>From <input type="date" name="from" value="${params.range === 'custom' ? params.from : ''}"></label>
    <label>To <input type="date" name="to" value="${params.range === 'custom' ? params.to : ''}"></label>
    <button type="submit">Apply dates</button>
  </form>
</aside>`
}

function pager (params: ListParams, page: ListPage): Html {
  const first = params.after !== undefined || params.before !== undefined
  return html`<nav class="pager" aria-label="Pages">
  ${first ? html`<a href="${listUrl(params)}">« First</a>` : ''}
  ${page.prev ? html`<a rel="prev" href="${listUrl(params, { before: page.prev })}">‹ Previous</a>` : html`<span class="disabled">‹ Previous</span>`}
  ${page.next ? html`<a rel="next" href="${listUrl(params, { after: page.next })}">Next ›</a>` : html`<span class="disabled">Next ›</span>`}
  <span class="per">Per page: ${PAGE_SIZES.map(n => n === params.per ? html`<strong>${n}</strong> ` : html`<a href="${listUrl(params, { per: n })}">${n}</a> `)}</span>
</nav>`
}

export function imageListPage (ctx: PageContext, params: ListParams, page: ListPage, timeZone: string): Html {
  const count = page.totalCapped ? `more than ${page.total.toLocaleString('en-US')}` : page.total.toLocaleString('en-US')
  const filtered = params.q !== '' || params.range !== ''
  const body = html`<h1>Images</h1>
<div class="list-layout">
<section class="results">
  <form method="get" action="/admin/images" class="search" role="search">
    <input type="search" name="q" value="${params.q}" placeholder="Phone number or file name" aria-label="Search by phone number or file name">
    ${params.range !== '' ? html`<input type="hidden" name="range" value="${params.range}">` : ''}
    ${params.range === 'custom' ? html`<input type="hidden" name="from" value="${params.from}"><input type="hidden" name="to" value="${params.to}">` : ''}
    <button type="submit">Search</button>
    ${filtered ? html`<a href="/admin/images">Clear search and filter</a>` : ''}
  </form>
  <p class="count" data-testid="count">${count} ${page.total === 1 && !page.totalCapped ? 'record' : 'records'}${filtered ? ' match' : ''}</p>
  <form method="post" action="/admin/images/delete" id="bulk">
    ${csrfField(ctx.csrfToken)}
    <input type="hidden" name="back" value="${listUrl(params, { after: params.after, before: params.before })}">
    <table class="images">
      <thead><tr>
        <th scope="col" class="select"><input type="checkbox" data-select-all aria-label="Select all on this page"></th>
        <th scope="col">Image</th>
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
        <td><a href="${href}">${thumbnail(row.image_url, 64)}</a></td>
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
${filters(params)}
</div>`
  return layout('Images', ctx, body, 'images')
}
