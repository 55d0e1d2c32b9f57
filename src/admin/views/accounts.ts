import { ADMIN_PASSWORD_MAX_LENGTH, ADMIN_PASSWORD_MIN_LENGTH } from '../../core/admin-account-rules.ts'
import type { AccountSummary } from '../auth/accounts.ts'
import { formatDateTime } from '../images/time-zone.ts'
import { html, type Html } from './html.ts'
import { csrfField, layout, type PageContext } from './layout.ts'

export interface NewAccountForm {
  values: { username: string, superuser: boolean }
  errors: Partial<Record<'username' | 'password' | 'password2', string>>
}

export const EMPTY_NEW_ACCOUNT: NewAccountForm = { values: { username: '', superuser: false }, errors: {} }

const when = (date: Date | undefined, timeZone: string): Html | string =>
  date ? html`<time datetime="${date.toISOString()}">${formatDateTime(date, timeZone)}</time>` : '—'

function errorOf (errors: Partial<Record<string, string>>, name: string): Html | string {
  const error = errors[name]
  return error ? html`<p class="error" id="e-${name}">${error}</p>` : ''
}

const invalid = (errors: Partial<Record<string, string>>, name: string): Html | string =>
  errors[name] ? html` aria-invalid="true" aria-describedby="e-${name}"` : ''

function passwordFields (errors: Partial<Record<string, string>>, label: string): Html {
  return html`<div class="field${errors.password ? ' invalid' : ''}">
    <label for="f-password">${label}</label>
    <input id="f-password" name="password" type="password" autocomplete="new-password" required minlength="${ADMIN_PASSWORD_MIN_LENGTH}" maxlength="${ADMIN_PASSWORD_MAX_LENGTH}"${invalid(errors, 'password')}>
    <p class="hint">At least ${ADMIN_PASSWORD_MIN_LENGTH} characters.</p>
    ${errorOf(errors, 'password')}
  </div>
  <div class="field${errors.password2 ? ' invalid' : ''}">
    <label for="f-password2">The same password again</label>
    <input id="f-password2" name="password2" type="password" autocomplete="new-password" required maxlength="${ADMIN_PASSWORD_MAX_LENGTH}"${invalid(errors, 'password2')}>
    ${errorOf(errors, 'password2')}
  </div>`
}

function status (account: AccountSummary): Html {
  return account.disabled ? html`<span class="badge off">Disabled</span>` : html`<span class="badge on">Active</span>`
}

/** Django's user list and "Add user" form in one page. */
export function accountListPage (ctx: PageContext, accounts: AccountSummary[], form: NewAccountForm, timeZone: string): Html {
  const body = html`<h1>Admin accounts</h1>
<div class="table-scroll">
<table class="plain accounts">
  <thead><tr><th scope="col">Username</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col">Last login</th><th scope="col">Created</th></tr></thead>
  <tbody>
  ${accounts.map(a => html`<tr>
    <td><a href="/admin/accounts/${a.id}">${a.username}</a>${a.username === ctx.username ? ' (you)' : ''}</td>
    <td>${a.superuser ? 'Superuser' : 'Operator'}</td>
    <td>${status(a)}</td>
    <td>${when(a.lastLoginAt, timeZone)}</td>
    <td>${when(a.createdAt, timeZone)}${a.createdBy ? ` by ${a.createdBy}` : ''}</td>
  </tr>`)}
  </tbody>
</table>
</div>
<p class="hint">Times are in ${timeZone}. Operators use the panel; superusers also manage these accounts.</p>
<section class="panel-form">
  <h2>Add an account</h2>
  <form method="post" action="/admin/accounts" novalidate>
    ${csrfField(ctx.csrfToken)}
    <div class="field${form.errors.username ? ' invalid' : ''}">
      <label for="f-username">Username</label>
      <input id="f-username" name="username" autocomplete="off" required maxlength="150" value="${form.values.username}"${invalid(form.errors, 'username')}>
      <p class="hint">Letters, digits and @ . + - _ (case does not matter).</p>
      ${errorOf(form.errors, 'username')}
    </div>
    ${passwordFields(form.errors, 'Password')}
    <div class="field check"><label><input type="checkbox" name="superuser" value="on"${form.values.superuser ? ' checked' : ''}> Superuser: may manage admin accounts</label></div>
    <p class="actions"><button type="submit">Add account</button></p>
  </form>
</section>`
  return layout('Accounts', ctx, body, 'accounts')
}

/** One account: its facts, a new password, and disabling or enabling it. */
export function accountPage (ctx: PageContext, account: AccountSummary, errors: Partial<Record<'password' | 'password2' | 'status', string>>, timeZone: string): Html {
  const self = account.username === ctx.username
  const body = html`<p class="crumbs"><a href="/admin/accounts">Accounts</a> › ${account.username}</p>
<h1>${account.username}${self ? ' (you)' : ''}</h1>
<dl class="facts panel-box">
  <dt>Role</dt><dd>${account.superuser ? 'Superuser' : 'Operator'}</dd>
  <dt>Status</dt><dd>${status(account)}</dd>
  <dt>Last login</dt><dd>${when(account.lastLoginAt, timeZone)}</dd>
  <dt>Password changed</dt><dd>${when(account.passwordChangedAt, timeZone)}</dd>
  <dt>Created</dt><dd>${when(account.createdAt, timeZone)}${account.createdBy ? ` by ${account.createdBy}` : ''}</dd>
</dl>
<section class="panel-form">
  <h2>${account.disabled ? 'Enable' : 'Disable'}</h2>
  ${errors.status ? html`<p class="flash error" role="alert">${errors.status}</p>` : ''}
  ${self
    ? html`<p class="hint">You cannot disable your own account; another superuser can.</p>`
    : account.disabled
      ? html`<form method="post" action="/admin/accounts/${account.id}/enable">${csrfField(ctx.csrfToken)}<p>${account.username} cannot log in.</p><p class="actions"><button type="submit">Enable ${account.username}</button></p></form>`
      : html`<form method="post" action="/admin/accounts/${account.id}/disable">${csrfField(ctx.csrfToken)}<p>${account.username} will not be able to log in, and is logged out everywhere at once.</p><p class="actions"><button type="submit" class="danger">Disable ${account.username}</button></p></form>`}
</section>
<section class="panel-form">
  <h2>Set a new password</h2>
  <p class="hint">${self ? 'Your other sessions end; this one stays.' : `Every session of ${account.username} ends.`}</p>
  <form method="post" action="/admin/accounts/${account.id}/password" novalidate>
    ${csrfField(ctx.csrfToken)}
    ${passwordFields(errors, 'New password')}
    <p class="actions"><button type="submit">Set password</button></p>
  </form>
</section>`
  return layout(account.username, ctx, body, 'accounts')
}
