import { html, type Html } from './html.ts'
import { layout, type PageContext } from './layout.ts'

export function errorPage (ctx: PageContext, status: number, title: string, message: string): Html {
  const body = html`<section class="error-page">
<h1>${title}</h1>
<p>${message}</p>
<p><a href="/admin/images">Back to the images</a></p>
<p class="status">HTTP ${status}</p>
</section>`
  return layout(title, ctx, body)
}
