import type { Types } from 'mongoose'
import { html, type Html } from './html.ts'
import { thumbnail, type Previewable } from './image-list.ts'
import { csrfField, layout, type PageContext } from './layout.ts'

export interface DeleteTarget {
  _id: Types.ObjectId
  phone_number: string
  file_name: string
  image_url: string
  storage: string
  storage_path: string
  variants?: Previewable['variants']
}

/** Django's "Are you sure?" page, with the choice of what happens to the stored files. */
export function deleteConfirmPage (ctx: PageContext, targets: DeleteTarget[], storageKind: string, links: { cancel: string, back: string }, error?: string): Html {
  const many = targets.length > 1
  const body = html`<p class="crumbs"><a href="/admin/images">Images</a> › Delete</p>
<h1>Delete ${many ? `${targets.length} images` : 'an image'}?</h1>
${error ? html`<p class="flash error" role="alert">${error}</p>` : ''}
<form method="post" action="/admin/images/delete" class="confirm">
  ${csrfField(ctx.csrfToken)}
  <input type="hidden" name="action" value="delete">
  <input type="hidden" name="back" value="${links.back}">
  <ul class="targets">
  ${targets.map(t => html`<li><input type="hidden" name="ids" value="${t._id.toHexString()}">${thumbnail(t, 48)} <span><strong>${t.file_name}</strong> · ${t.phone_number} · <code>${t.storage}:${t.storage_path}</code></span></li>`)}
  </ul>
  <fieldset>
    <legend>The stored ${many ? 'files' : 'file'} (${storageKind} storage)</legend>
    <label><input type="radio" name="file" value="keep" required> Keep the stored ${many ? 'files' : 'file'}; delete the ${many ? 'records' : 'record'} only</label>
    <label><input type="radio" name="file" value="delete" required> Also delete the stored ${many ? 'files' : 'file'} from storage</label>
  </fieldset>
  <p class="actions"><button type="submit" class="danger">Yes, delete</button> <a href="${links.cancel}">No, take me back</a></p>
</form>`
  return layout('Delete', ctx, body, 'images')
}
