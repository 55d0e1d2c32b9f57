import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Types } from 'mongoose'
import { Type } from 'typebox'
import { HttpError } from '../../core/http-error.ts'
import { FERRETDB_LIST_NOTE, ferretdbVersion } from '../images/database-engine.ts'
import { deleteImages } from '../images/delete.ts'
import { deleteReport, fileOutcomes } from '../images/delete-report.ts'
import { checkEdit, EditForm } from '../images/edit.ts'
import { DateFilterError, ListQuery, ListQueryError, listPage, listParams } from '../images/list-query.ts'
import { audit } from '../plugins/audit.ts'
import { pageContext, sendHtml, sessionOf } from '../plugins/context.ts'
import { deleteConfirmPage, type DeleteTarget } from '../views/delete-confirm.ts'
import { formStateOf, imageDetailPage, type ImageDocument } from '../views/image-detail.ts'
import { imageListPage, type ListProblems } from '../views/image-list.ts'

const ObjectIdString = Type.String({ pattern: '^[0-9a-fA-F]{24}$' })
const IdParams = Type.Object({ id: ObjectIdString })
const MAX_BULK = 1000

const DeleteForm = Type.Object({
  _csrf: Type.Optional(Type.String()),
  ids: Type.Optional(Type.Array(ObjectIdString, { maxItems: MAX_BULK })),
  action: Type.Optional(Type.Union([Type.Literal('confirm'), Type.Literal('delete')])),
  file: Type.Optional(Type.Union([Type.Literal('keep'), Type.Literal('delete')])),
  back: Type.Optional(Type.String({ maxLength: 2000 }))
})

/** A list URL to return to after a delete; anything else goes to the plain list. */
function backTo (back: string | undefined): string {
  return back !== undefined && /^\/admin\/images(\?[^\\\s]*)?$/.test(back) ? back : '/admin/images'
}

const EDITABLE = ['phone_number', 'file_name', 'image_url', 'uploaded_at'] as const
const same = (a: unknown, b: unknown): boolean => a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b

const notFound = (): HttpError => new HttpError(404, 'No image has this id; it may have been deleted.')
const TARGET_FIELDS = { phone_number: 1, file_name: 1, image_url: 1, storage: 1, storage_path: 1, variants: 1 }

const imageRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { timeZone } = fastify.config.admin
  const images = fastify.db.images

  // A mistake in the request (dates, a page link) is shown on the list itself, beside what caused
  // it, with status 400: the operator corrects it there instead of going back from an error page.
  fastify.get('/images', { schema: { hide: true, querystring: ListQuery } }, async (request, reply) => {
    let params = listParams(request.query)
    const problems: ListProblems = {}
    const now = new Date()
    for (;;) {
      try {
        const [page, ferretdb] = await Promise.all([listPage(images, params, now, timeZone), ferretdbVersion(fastify.db.connection)])
        const status = problems.dates || problems.page ? 400 : 200
        return sendHtml(reply, status, imageListPage(await pageContext(request), params, page, timeZone, problems, ferretdb === undefined ? undefined : FERRETDB_LIST_NOTE))
      } catch (err) {
        if (err instanceof DateFilterError && !problems.dates) {
          problems.dates = { from: params.from, to: params.to, message: err.message }
          params = { ...params, range: '', from: '', to: '', after: undefined, before: undefined, page: 1 }
        } else if (err instanceof ListQueryError && !problems.page) {
          problems.page = `${err.message} This is the first page.`
          params = { ...params, after: undefined, before: undefined, page: 1 }
        } else {
          if (err instanceof ListQueryError) throw new HttpError(400, err.message)
          throw err
        }
      }
    }
  })

  fastify.get('/images/:id', { schema: { hide: true, params: IdParams } }, async (request, reply) => {
    const image = await images.findById(request.params.id).lean<ImageDocument>()
    if (!image) throw notFound()
    return sendHtml(reply, 200, imageDetailPage(await pageContext(request), image, formStateOf(image, timeZone), timeZone))
  })

  fastify.post('/images/:id', { schema: { hide: true, params: IdParams, body: EditForm } }, async (request, reply) => {
    const session = sessionOf(request)
    const image = await images.findById(request.params.id).lean<ImageDocument>()
    if (!image) throw notFound()
    const check = checkEdit(request.body, timeZone)
    if (!check.ok) {
      const { _csrf: _, ...values } = request.body
      return sendHtml(reply, 400, imageDetailPage(await pageContext(request), image, { values, errors: check.errors }, timeZone))
    }
    const fields = { ...check.fields }
    // The form shows whole seconds; an untouched time keeps its milliseconds.
    if (Math.floor(fields.uploaded_at.getTime() / 1000) === Math.floor(image.uploaded_at.getTime() / 1000)) fields.uploaded_at = image.uploaded_at
    const changed = EDITABLE.filter(k => !same(fields[k], image[k]))
    const result = await images.updateOne({ _id: image._id }, { $set: fields }, { runValidators: true })
    if (result.matchedCount === 0) throw notFound()
    request.log.info({ admin: session.username, imageId: request.params.id, changed }, 'admin edited an image record')
    if (changed.length > 0) {
      const was = Object.fromEntries(changed.map(k => [k, image[k]]))
      const now = Object.fromEntries(changed.map(k => [k, fields[k]]))
      await audit(request, 'image.edit', image.file_name, { summary: `Changed ${changed.join(', ')}.`, id: request.params.id, was, now })
    }
    await fastify.admin.sessions.flash(session, {
      kind: 'success',
      text: changed.length > 0 ? `Saved '${fields.file_name}' (changed: ${changed.join(', ')}).` : 'Nothing changed.'
    })
    return reply.redirect(`/admin/images/${request.params.id}`, 303)
  })

  fastify.get('/images/:id/delete', { schema: { hide: true, params: IdParams } }, async (request, reply) => {
    const image = await images.findById(request.params.id, TARGET_FIELDS).lean<DeleteTarget>()
    if (!image) throw notFound()
    return sendHtml(reply, 200, deleteConfirmPage(await pageContext(request), [image], fastify.storage.kind, { cancel: `/admin/images/${request.params.id}`, back: '/admin/images' }))
  })

  // Both steps of a delete: "confirm" shows what will go and asks about the stored files;
  // "delete" (with that choice) does it and reports.
  fastify.post('/images/delete', { schema: { hide: true, body: DeleteForm } }, async (request, reply) => {
    const session = sessionOf(request)
    const ids = [...new Set(request.body.ids ?? [])]
    const back = backTo(request.body.back)
    if (ids.length === 0) {
      await fastify.admin.sessions.flash(session, { kind: 'warning', text: 'Select at least one image to delete.' })
      return reply.redirect(back, 303)
    }
    const objectIds = ids.map(id => new Types.ObjectId(id))
    const choice = request.body.file
    if (request.body.action !== 'delete' || choice === undefined) {
      const targets = await images.find({ _id: { $in: objectIds } }, TARGET_FIELDS).sort({ uploaded_at: -1 }).lean<DeleteTarget[]>()
      if (targets.length === 0) throw notFound()
      const error = request.body.action === 'delete' ? 'Choose whether the stored files are kept or deleted.' : undefined
      return sendHtml(reply, error ? 400 : 200, deleteConfirmPage(await pageContext(request), targets, fastify.storage.kind, { cancel: back, back }, error))
    }

    const outcomes = await deleteImages(images, fastify.storage, objectIds, choice === 'delete')
    request.log.info({ admin: session.username, alsoFile: choice === 'delete', outcomes }, 'admin deleted image records')
    const report = deleteReport(outcomes, ids.length)
    const deleted = outcomes.filter(o => o.recordDeleted)
    if (outcomes.length > 0) {
      await audit(request, 'image.delete', deleted.length === 1 ? deleted[0]!.fileName : `${deleted.length} records`, {
        summary: report.map(f => f.text).join(' '),
        files: choice === 'delete' ? 'deleted with their records' : 'kept',
        records: outcomes.map(o => ({ id: o.id, file_name: o.fileName, deleted: o.recordDeleted, file: o.file, ...(o.error !== undefined && { error: o.error }) })),
        stored_files: [...fileOutcomes(deleted)].map(([file, outcome]) => ({ file, outcome }))
      })
    }
    for (const flash of report) await fastify.admin.sessions.flash(session, flash)
    return reply.redirect(back, 303)
  })
}

export default imageRoutes
