import type { SyncRunReport, SyncStatus } from '../../queue/dropbox-sync-state.ts'
import { formatDateTime } from '../images/time-zone.ts'
import { html, type Html } from './html.ts'
import { csrfField, layout, type PageContext } from './layout.ts'

export interface SyncPageState {
  enabled: boolean
  intervalMs: number
  status: SyncStatus
}

const OUTCOMES: Record<SyncRunReport['outcome'], string> = {
  completed: 'completed',
  interrupted: 'interrupted (the next run resumes it)',
  failed: 'failed (the next run retries from where it stopped)'
}

function when (iso: string, timeZone: string): Html {
  return html`<time datetime="${iso}">${formatDateTime(new Date(iso), timeZone)}</time>`
}

function lastRun (last: SyncRunReport, timeZone: string): Html {
  const seconds = (Date.parse(last.finishedAt) - Date.parse(last.startedAt)) / 1000
  return html`<dl class="facts" data-testid="last-sync">
    <dt>Finished</dt><dd>${when(last.finishedAt, timeZone)} (${seconds.toFixed(1)} s, asked by ${last.trigger === 'interval' ? 'the schedule' : last.trigger})</dd>
    <dt>Outcome</dt><dd>${OUTCOMES[last.outcome]}${last.error ? html`: <code>${last.error}</code>` : ''}</dd>
    <dt>Read</dt><dd>${last.pages} ${last.pages === 1 ? 'page' : 'pages'} of ${last.fullListing ? 'a full listing of Dropbox' : 'changes'}</dd>
    <dt>Records created</dt><dd data-testid="created">${last.created}</dd>
    <dt>Records updated</dt><dd data-testid="updated">${last.updated}</dd>
    <dt>Records deleted</dt><dd data-testid="deleted">${last.deleted} ${last.deleted > 0 ? html`(<a href="/admin/audit?actor=dropbox-sync">see the audit log</a>)` : ''}</dd>
    <dt>Left to the uploads</dt><dd>${last.deferred}</dd>
  </dl>`
}

/** When the sync last ran, what it changed, and a button to run it now. */
export function syncPage (ctx: PageContext, state: SyncPageState, timeZone: string): Html {
  const { status } = state
  const body = html`<h1>Dropbox sync</h1>
<p class="hint">The records follow what is in Dropbox: an image put into a phone number's folder with the Dropbox app gets a
record, one deleted or renamed there has its record deleted or updated. Deletions are in the <a href="/admin/audit?actor=dropbox-sync">audit log</a>.</p>
${!state.enabled
  ? html`<p class="flash warning" role="status">The sync is off: storage is not Dropbox, or DROPBOX_SYNC_INTERVAL_MS is 0.</p>`
  : html`<section class="edit">
  <p>Runs every ${Math.round(state.intervalMs / 1000)} s, and whenever Dropbox notifies a change (webhook).</p>
  ${status.running ? html`<p class="flash success" role="status" data-testid="running">A sync is running since ${when(status.running.startedAt, timeZone)}.</p>` : ''}
  <h2>Last run</h2>
  ${status.last ? lastRun(status.last, timeZone) : html`<p data-testid="never">No sync has run yet.</p>`}
  <form method="post" action="/admin/sync">
    ${csrfField(ctx.csrfToken)}
    <p class="actions"><button type="submit">Sync now</button></p>
  </form>
</section>`}
<p class="hint">Times are in ${timeZone}.</p>`
  return layout('Dropbox sync', ctx, body, 'sync')
}
