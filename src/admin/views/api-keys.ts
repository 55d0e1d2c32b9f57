import type { ApiKeySummary } from '../../plugins/api-key-store.ts'
import { formatDateTime } from '../images/time-zone.ts'
import { html, type Html } from './html.ts'
import { csrfField, layout, type PageContext } from './layout.ts'

export interface ApiKeyPageSettings {
  timeZone: string
  /** API_AUTH=required. */
  required: boolean
  cacheSeconds: number
}

const when = (date: Date | undefined, timeZone: string, none: string): Html | string =>
  date ? html`<time datetime="${date.toISOString()}">${formatDateTime(date, timeZone)}</time>` : none

/** Within how long the API processes stop accepting a revoked key. */
function revocationDelay (cacheSeconds: number): string {
  return cacheSeconds === 0 ? 'at once' : `within ${cacheSeconds} seconds`
}

export function apiKeyListPage (ctx: PageContext, keys: ApiKeySummary[], settings: ApiKeyPageSettings): Html {
  const { timeZone } = settings
  const body = html`<h1>API keys</h1>
<p>${settings.required
    ? html`<strong>API_AUTH=required</strong>: every <code>/api</code> request needs a valid key.`
    : html`<strong>API_AUTH=off</strong>: the API answers without a key; a valid key is recognised (its last use is recorded).`}
  A key identifies an app build, not a person. Create one with <code>npm run create-api-key -- --name NAME</code>;
  to rotate, create a new key, ship it in the app, then revoke the old one here.</p>
<table class="images api-keys">
  <thead><tr><th scope="col">Name</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Status</th><th scope="col"></th></tr></thead>
  <tbody>
  ${keys.length === 0 ? html`<tr><td colspan="5" class="empty">No API keys yet.</td></tr>` : ''}
  ${keys.map(k => html`<tr>
    <td class="name"><strong>${k.name}</strong></td>
    <td class="time">${when(k.createdAt, timeZone, '')}</td>
    <td class="time">${when(k.lastUsedAt, timeZone, 'never')}</td>
    <td class="status">${k.revokedAt ? html`revoked ${when(k.revokedAt, timeZone, '')}` : 'active'}</td>
    <td>${k.revokedAt ? '' : html`<a class="danger" href="/admin/api-keys/${k.id}/revoke">Revoke…</a>`}</td>
  </tr>`)}
  </tbody>
</table>
<p class="hint">Times are in ${timeZone}. "Last used" is recorded at most once a minute.</p>`
  return layout('API keys', ctx, body, 'api-keys')
}

export function revokeConfirmPage (ctx: PageContext, key: ApiKeySummary, settings: ApiKeyPageSettings): Html {
  const body = html`<p class="crumbs"><a href="/admin/api-keys">API keys</a> › Revoke</p>
<h1>Revoke the API key '${key.name}'?</h1>
<form method="post" action="/admin/api-keys/${key.id}/revoke" class="confirm">
  ${csrfField(ctx.csrfToken)}
  <p>Apps built with this key ${settings.required ? 'get 401 on every API request' : 'are served as anonymous clients'}
    once it is revoked: the API processes stop accepting it ${revocationDelay(settings.cacheSeconds)}.
    A revoked key cannot be restored; its name stays taken.</p>
  <p>Last used: ${when(key.lastUsedAt, settings.timeZone, 'never')}.</p>
  <p class="actions"><button type="submit" class="danger">Yes, revoke it</button> <a href="/admin/api-keys">No, take me back</a></p>
</form>`
  return layout('Revoke an API key', ctx, body, 'api-keys')
}
