import type { Types } from 'mongoose'
import type { ImageRecord } from '../../models/image.ts'
import type { EditableFields, EditFormBody } from '../images/edit.ts'
import { formatDateTime, toDateTimeLocal } from '../images/time-zone.ts'
import { html, safeUrl, type Html } from './html.ts'
import { noPreviewReason, thumbnail } from './image-list.ts'
import { csrfField, layout, type PageContext } from './layout.ts'

export type ImageDocument = ImageRecord & { _id: Types.ObjectId }

interface FormState {
  values: Omit<EditFormBody, '_csrf'>
  errors: Partial<Record<keyof EditableFields, string>>
}

export function formStateOf (image: ImageDocument, timeZone: string): FormState {
  return {
    values: { phone_number: image.phone_number, file_name: image.file_name, image_url: image.image_url, uploaded_at: toDateTimeLocal(image.uploaded_at, timeZone) },
    errors: {}
  }
}

function field (state: FormState, name: keyof EditableFields, label: string, input: Html): Html {
  const error = state.errors[name]
  return html`<div class="field${error ? ' invalid' : ''}">
  <label for="f-${name}">${label}</label>
  ${input}
  ${error ? html`<p class="error" id="e-${name}">${error}</p>` : ''}
</div>`
}

/** The stable URLs of the image and its renderings, or why there are none. */
function renderings (id: string, image: ImageDocument): Html {
  const variants = image.variants
  const original = html`<a href="/i/${id}" target="_blank">original</a>`
  if (variants?.status !== 'ready' || !variants.display || !variants.thumbnail) {
    return html`${original}; ${variants?.status === 'failed' ? html`none: ${variants.reason ?? 'the image cannot be rendered'}` : 'being made'}`
  }
  const one = (name: 'display' | 'thumbnail', file: { width: number, height: number, content_type: string }) =>
    html`<a href="/i/${id}/${name}" target="_blank">${name}</a> ${file.width}×${file.height} ${file.content_type.replace('image/', '').toUpperCase()}`
  return html`${original}, ${one('display', variants.display)}, ${one('thumbnail', variants.thumbnail)}`
}

export function imageDetailPage (ctx: PageContext, image: ImageDocument, state: FormState, timeZone: string): Html {
  const id = image._id.toHexString()
  const url = safeUrl(image.image_url)
  const describedBy = (name: keyof EditableFields) => state.errors[name] ? html` aria-invalid="true" aria-describedby="e-${name}"` : ''
  const body = html`<p class="crumbs"><a href="/admin/images">Images</a> › ${image.file_name}</p>
<h1>${image.file_name}</h1>
<div class="detail">
  <figure class="preview">
    <a href="/i/${id}" target="_blank">${thumbnail(image, 320, 'display')}</a>
    ${noPreviewReason(image) ? html`<figcaption class="why">${noPreviewReason(image)}.</figcaption>` : ''}
  </figure>
  <dl class="facts">
    <dt>Phone number</dt><dd>${image.phone_number}</dd>
    <dt>File name</dt><dd>${image.file_name}</dd>
    <dt>Image URL</dt><dd class="url">${url ? html`<a href="${url}" rel="noopener noreferrer" target="_blank">${image.image_url}</a>` : image.image_url}</dd>
    <dt>Uploaded at</dt><dd><time datetime="${image.uploaded_at.toISOString()}">${formatDateTime(image.uploaded_at, timeZone)}</time> (${timeZone})</dd>
    <dt>Original name</dt><dd>${image.original_name ?? '—'}</dd>
    <dt>Storage</dt><dd>${image.storage}: <code>${image.storage_path}</code></dd>
    <dt>Size</dt><dd>${image.size.toLocaleString('en-US')} bytes, ${image.content_type}</dd>
    <dt>Content hash</dt><dd><code>${image.content_hash}</code></dd>
    <dt>Upload id</dt><dd><code>${id}</code></dd>
    <dt>Renderings</dt><dd>${renderings(id, image)}</dd>
  </dl>
</div>
<section class="edit">
  <h2>Edit</h2>
  <p class="hint">These fields change the record only: the stored file stays at <code>${image.storage_path}</code>.</p>
  <form method="post" action="/admin/images/${id}" novalidate>
    ${csrfField(ctx.csrfToken)}
    ${field(state, 'phone_number', 'Phone number', html`<input id="f-phone_number" name="phone_number" value="${state.values.phone_number}" required maxlength="30"${describedBy('phone_number')}>`)}
    ${field(state, 'file_name', 'File name', html`<input id="f-file_name" name="file_name" value="${state.values.file_name}" required maxlength="255"${describedBy('file_name')}>`)}
    ${field(state, 'image_url', 'Image URL', html`<input id="f-image_url" name="image_url" type="url" value="${state.values.image_url}" required maxlength="2048"${describedBy('image_url')}>`)}
    ${field(state, 'uploaded_at', `Uploaded at (${timeZone})`, html`<input id="f-uploaded_at" name="uploaded_at" type="datetime-local" step="1" value="${state.values.uploaded_at}" required${describedBy('uploaded_at')}>`)}
    <p class="actions"><button type="submit">Save</button> <a class="danger" href="/admin/images/${id}/delete">Delete…</a></p>
  </form>
</section>`
  return layout(image.file_name, ctx, body, 'images')
}
