import { html, type Html } from './html.ts'
import { csrfField, layout, type PageContext } from './layout.ts'

export function loginPage (options: { next?: string, username?: string, error?: string, notice?: string }): Html {
  const body = html`<section class="login">
<h1>Log in</h1>
${options.notice ? html`<p class="flash success" role="status">${options.notice}</p>` : ''}
${options.error ? html`<p class="flash error" role="alert">${options.error}</p>` : ''}
<form method="post" action="/admin/login">
  <input type="hidden" name="next" value="${options.next ?? ''}">
  <div class="field"><label for="username">Username</label><input id="username" name="username" autocomplete="username" required autofocus maxlength="150" value="${options.username ?? ''}"></div>
  <div class="field"><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024"></div>
  <p class="actions"><button type="submit">Log in</button></p>
</form>
</section>`
  return layout('Log in', {}, body)
}

/** Reached from links that cannot post (Bull Board's menu): the log-out button, one click away. */
export function logoutPage (ctx: PageContext): Html {
  const body = html`<section class="login">
<h1>Log out?</h1>
<p>You are logged in as <strong>${ctx.username ?? ''}</strong>.</p>
<form method="post" action="/admin/logout">
  ${csrfField(ctx.csrfToken)}
  <p class="actions"><button type="submit">Log out</button> <a href="/admin/images">Back to the images</a></p>
</form>
</section>`
  return layout('Log out', ctx, body)
}
