import type { AuditPage, AuditRow } from '../audit/audit-log.ts'
import { formatDateTime } from '../images/time-zone.ts'
import { html, query, type Html } from './html.ts'
import { layout, type PageContext } from './layout.ts'

export interface AuditFilter {
  actor?: string
  action?: string
  per: number
}

const auditUrl = (filter: AuditFilter, extra: Record<string, string | undefined> = {}): string =>
  `/admin/audit${query({ actor: filter.actor, action: filter.action, per: filter.per === 50 ? undefined : String(filter.per), ...extra })}`

/** The one line a row shows: the event's own summary, or its details as compact JSON. */
function describe (row: AuditRow): Html | string {
  const details = (row.details ?? {}) as Record<string, unknown>
  const { summary, ...rest } = details
  const more = Object.keys(rest).length > 0 ? JSON.stringify(rest) : ''
  if (typeof summary !== 'string') return more
  return more === '' ? summary : html`${summary}<details><summary>Details</summary><code>${more}</code></details>`
}

export function auditPage (ctx: PageContext, filter: AuditFilter, page: AuditPage, timeZone: string, first: boolean): Html {
  const filtered = filter.actor !== undefined || filter.action !== undefined
  const body = html`<h1>Audit log</h1>
<p class="hint">What operators did in the panel (and what background jobs did to records), newest first. Times are in ${timeZone}.</p>
${filtered
  ? html`<p class="count">Only ${filter.actor ? html`actions by <strong>${filter.actor}</strong>` : ''}${filter.actor && filter.action ? ' of ' : ''}${filter.action ? html`kind <strong>${filter.action}</strong>` : ''}. <a href="/admin/audit">Show everything</a></p>`
  : ''}
<div class="table-scroll">
<table class="plain audit">
  <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">What</th><th scope="col">Details</th></tr></thead>
  <tbody>
  ${page.rows.length === 0 ? html`<tr><td colspan="5" class="empty">Nothing recorded${filtered ? ' that matches' : ''}.</td></tr>` : ''}
  ${page.rows.map(row => html`<tr>
    <td class="time"><time datetime="${row.at.toISOString()}">${formatDateTime(row.at, timeZone)}</time></td>
    <td><a href="${auditUrl({ ...filter, actor: row.actor })}">${row.actor}</a></td>
    <td><a href="${auditUrl({ ...filter, action: row.action })}"><code>${row.action}</code></a></td>
    <td class="target">${row.target ?? ''}</td>
    <td class="details">${describe(row)}</td>
  </tr>`)}
  </tbody>
</table>
</div>
<nav class="pager" aria-label="Pages">
  ${first ? html`<span class="disabled">« Newest</span>` : html`<a href="${auditUrl(filter)}">« Newest</a>`}
  ${page.newer ? html`<a rel="prev" href="${auditUrl(filter, { newer: page.newer })}">‹ Newer</a>` : html`<span class="disabled">‹ Newer</span>`}
  ${page.older ? html`<a rel="next" href="${auditUrl(filter, { older: page.older })}">Older ›</a>` : html`<span class="disabled">Older ›</span>`}
</nav>`
  return layout('Audit log', ctx, body, 'audit')
}
