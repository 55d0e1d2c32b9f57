import type { Flash } from '../auth/session-store.ts'
import { html, type Html } from './html.ts'

export interface PageContext {
  /** Absent on the login page. */
  username?: string
  csrfToken?: string
  flashes?: Flash[]
  /** The account may manage admin accounts: the Accounts link shows. */
  superuser?: boolean
}

export function csrfField (csrfToken: string | undefined): Html {
  return html`<input type="hidden" name="_csrf" value="${csrfToken ?? ''}">`
}

const NAV = [
  { href: '/admin/images', label: 'Images', key: 'images' },
  { href: '/admin/queues', label: 'Upload queue', key: 'queues' },
  { href: '/admin/sync', label: 'Dropbox sync', key: 'sync' },
  { href: '/admin/api-keys', label: 'API keys', key: 'api-keys' },
  { href: '/admin/audit', label: 'Audit log', key: 'audit' },
  { href: '/admin/accounts', label: 'Accounts', key: 'accounts', superuserOnly: true }
]

export function layout (title: string, ctx: PageContext, body: Html, active?: string): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${title} | Image Upload admin</title>
<link rel="stylesheet" href="/admin/assets/admin.css">
<script src="/admin/assets/admin.js" defer></script>
</head>
<body>
<header class="top">
  <a class="brand" href="/admin/images">Image Upload admin</a>
  ${ctx.username !== undefined
    ? html`<nav>${NAV.filter(n => n.superuserOnly !== true || ctx.superuser === true).map(n => html`<a href="${n.href}"${n.key === active ? html` aria-current="page"` : ''}>${n.label}</a>`)}</nav>
  <form class="logout" method="post" action="/admin/logout">${csrfField(ctx.csrfToken)}<span>${ctx.username}</span> <button type="submit" class="link">Log out</button></form>`
    : ''}
</header>
<main>
${(ctx.flashes ?? []).map(f => html`<p class="flash ${f.kind}" role="status">${f.text}</p>`)}
${body}
</main>
</body>
</html>
`
}
