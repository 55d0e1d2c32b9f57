import { createHash } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Metadata } from '@tus/server'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { HttpError } from '../../core/http-error.ts'
import { idempotencyKeyOf } from '../../core/idempotency.ts'
import { normalizePhoneNumber } from '../../core/phone-number.ts'
import { CHECKSUM_ALGORITHMS, parseUploadChecksum } from '../../core/upload-checksum.ts'
import { newUploadId } from '../../core/upload-id.ts'
import type { ResumableEntry } from '../../staging/resumable-store.ts'
import {
  TusBody, TusUploadParams, tusCreationHeaders, tusCreationResponses, tusDeleteResponses, tusHeadHeaders, tusHeadResponses,
  tusOptionsResponses, tusPatchHeaders, tusPatchResponses
} from '../schemas/tus.ts'
import { sendUploadAnswer } from '../uploads/accept-upload.ts'
import { cutOffWhenIdle } from '../uploads/receive-multipart.ts'
import { createResumable, TUS_VERSION, withTusHeader, type Resumable, type TusCall } from '../uploads/resumable.ts'

/**
 * tus 1.0 at /api/tus/ (README, "Resumable uploads"): @tus/server speaks the protocol on the raw
 * request and response (the body is left unread for it); the routes here document it, keep a
 * creation idempotent under an Idempotency-Key, and give tus's hooks the request's context.
 */
const tusRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  // The bytes are tus's to read, as they arrive; any other body type too (tus answers for it).
  fastify.addContentTypeParser('application/offset+octet-stream', (_request, _payload, done) => { done(null) })
  fastify.addContentTypeParser('*', (_request, _payload, done) => { done(null) })
  const resumable = await createResumable(fastify)
  const { idleTimeoutMs } = fastify.config.upload

  const serve = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const call: TusCall = { request, disarmIdle: () => {} }
    try {
      if (request.method === 'PATCH' || request.method === 'POST') call.checksum = parseUploadChecksum(request.headers['upload-checksum'])
      if (request.method === 'POST' && await replayCreation(resumable, request, reply, call)) return reply
    } catch (err) {
      throw withTusHeader(err)
    }
    if (request.method === 'OPTIONS') reply.raw.setHeader('Tus-Checksum-Algorithm', CHECKSUM_ALGORITHMS.join(','))
    // A body that stops arriving is cut off, as for multipart; tus keeps what arrived.
    if (request.method === 'PATCH' || request.method === 'POST') call.disarmIdle = cutOffWhenIdle(request, idleTimeoutMs)
    reply.hijack()
    try {
      await resumable.calls.run(call, () => resumable.server.handle(request.raw, reply.raw))
    } catch (err) {
      request.log.error({ err }, 'unexpected error')
      if (!reply.raw.headersSent) reply.raw.writeHead(500, { 'content-type': 'application/json; charset=utf-8', 'tus-resumable': TUS_VERSION }).end(JSON.stringify({ message: 'Internal server error.' }))
      else reply.raw.destroy()
    } finally {
      call.disarmIdle()
      // A creation that did not happen gives its Idempotency-Key back.
      if (reply.raw.statusCode >= 400) await call.releaseKey?.().catch(() => {})
      // A creation refused after tus made its upload (the first bytes went past Upload-Length,
      // say) answered without a Location: the client cannot resume it, so it goes now rather
      // than at expiry. (Headers tus passes to writeHead are readable here: request-id.ts set one
      // before, which makes Node merge them.)
      if (request.method === 'POST' && call.createdId !== undefined && reply.raw.statusCode >= 400 && reply.raw.getHeader('location') === undefined) {
        await resumable.store.forget(call.createdId).catch(() => {})
      }
    }
    return reply
  }

  const tags = ['resumable']
  fastify.options('/api/tus', {
    schema: {
      operationId: 'tusOptions',
      summary: 'Resumable uploads: what the tus server supports',
      description: 'tus 1.0 discovery. (A browser\'s CORS preflight is answered by the CORS policy instead.)',
      tags,
      hide: false,
      response: tusOptionsResponses
    }
  }, serve)

  fastify.post('/api/tus', {
    schema: {
      operationId: 'tusCreateUpload',
      summary: 'Resumable uploads: create an upload',
      description: 'tus creation: Upload-Length and Upload-Metadata (phone_number, filename). Answers 201 with the upload\'s Location, where the bytes go by PATCH. ' +
        'With creation-with-upload the body may carry the first bytes (Content-Type: application/offset+octet-stream), or all of them: then the answer is the last PATCH\'s.',
      tags,
      hide: false,
      headers: tusCreationHeaders,
      response: tusCreationResponses
    }
  }, serve)

  fastify.head('/api/tus/:upload_id', {
    schema: {
      operationId: 'tusGetOffset',
      summary: 'Resumable uploads: where an upload stands',
      description: 'How a client resumes: the offset to send the next PATCH at.',
      tags,
      hide: false,
      params: TusUploadParams,
      headers: tusHeadHeaders,
      response: tusHeadResponses
    },
    // @fastify/swagger leaves HEAD routes out unless told (it names this one `tusGetOffset-head`).
    config: { swagger: { exposeHeadRoute: true } }
  }, serve)

  fastify.patch('/api/tus/:upload_id', {
    schema: {
      operationId: 'tusUploadBytes',
      summary: 'Resumable uploads: send bytes',
      description: 'Bytes from Upload-Offset on; a request cut off keeps what arrived (HEAD, then resume). ' +
        'The request that completes the upload waits for the image to be stored and answers like a one-file POST /api/upload/: 200, 202 (still processing) or 500 (failed), ' +
        'or 415 when the bytes are not an image.',
      tags,
      hide: false,
      params: TusUploadParams,
      headers: tusPatchHeaders,
      consumes: ['application/offset+octet-stream'],
      response: tusPatchResponses
    },
    config: { multipartBody: TusBody }
  }, serve)

  fastify.delete('/api/tus/:upload_id', {
    schema: {
      operationId: 'tusTerminateUpload',
      summary: 'Resumable uploads: abandon an upload',
      description: 'tus termination: the bytes received so far and the upload\'s state are removed. A complete upload cannot be terminated.',
      tags,
      hide: false,
      params: TusUploadParams,
      headers: tusHeadHeaders,
      response: tusDeleteResponses
    }
  }, serve)

  // Everything else under /api/tus/ (OPTIONS on an upload's URL, GET...) is tus's to answer.
  fastify.route({ method: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'], url: '/api/tus/*', schema: { hide: true }, handler: serve })
}

/** What a creation under an Idempotency-Key claims: the same file for the same phone. */
function creationFingerprint (phoneNumber: string, fileName: string, length: string | undefined): string {
  return createHash('sha256').update(JSON.stringify(['tus', phoneNumber, fileName, length ?? ''])).digest('hex')
}

/**
 * A creation with an Idempotency-Key: the first one claims the key for a fresh upload id (tus
 * then creates the upload under that id); a retry gets the first upload back (its Location, its
 * offset, or its outcome when it is complete) and nothing new is created. Returns true when the
 * retry has been answered here. A creation whose metadata is unusable goes on to tus, which
 * refuses it.
 */
async function replayCreation (resumable: Resumable, request: FastifyRequest, reply: FastifyReply, call: TusCall): Promise<boolean> {
  const key = idempotencyKeyOf(request.headers['idempotency-key'])
  if (key === undefined) return false
  let meta: Record<string, string | null>
  try {
    meta = Metadata.parse(request.headers['upload-metadata'] as string | undefined)
  } catch {
    return false
  }
  const phone = normalizePhoneNumber(meta.phone_number ?? '')
  const fileName = meta.filename
  if (!phone.ok || !fileName) return false

  const keys = request.server.uploadQueue.idempotency
  // Keys are scoped like the multipart endpoint's, in a namespace of their own.
  const scope = `tus:${request.apiKey?.id ?? phone.phoneNumber}`
  const fingerprint = creationFingerprint(phone.phoneNumber, fileName, request.headers['upload-length'] as string | undefined)
  for (let attempt = 0; attempt < 3; attempt++) {
    const claim = { fingerprint, phoneNumber: phone.phoneNumber, files: [{ uploadId: newUploadId(), fileName }] }
    const earlier = await keys.claim(scope, key, claim)
    if (!earlier) {
      call.presetId = claim.files[0]!.uploadId
      call.releaseKey = () => keys.release(scope, key, claim)
      return false
    }
    if (earlier.fingerprint !== fingerprint) {
      throw new HttpError(422, 'This Idempotency-Key was already used for a different upload (another phone number, file name or length). Send a new key for a new upload.')
    }
    const id = earlier.files[0]!.uploadId
    const entry = await resumable.store.entry(id)
    if (entry && !expired(resumable, entry)) {
      request.log.info({ phone: phone.phoneNumber, uploadId: id }, 'idempotent retry: answering for the first creation')
      await answerExisting(resumable, request, reply, entry)
      return true
    }
    // The first upload is gone (refused, terminated or expired): this creation takes the key over.
    await keys.release(scope, key, earlier)
  }
  throw new HttpError(409, 'Another creation with this Idempotency-Key is in progress. Retry shortly.')
}

function expired (resumable: Resumable, entry: ResumableEntry): boolean {
  if (entry.accepted || entry.creation_date === undefined) return false
  return Date.now() - new Date(entry.creation_date).getTime() > resumable.store.getExpiration()
}

/** A creation's answer for an upload that exists: 201 with its Location and offset, or its outcome once complete. */
async function answerExisting (resumable: Resumable, request: FastifyRequest, reply: FastifyReply, entry: ResumableEntry): Promise<void> {
  reply.header('tus-resumable', TUS_VERSION).header('location', resumable.uploadUrl(request, entry.id))
  const size = entry.size ?? 0
  const offset = entry.accepted ? size : await resumable.store.received(entry.id) ?? 0
  if (offset === size) {
    const settled = await resumable.settle(entry.id, request.log, true)
    if (settled.kind === 'answer') {
      reply.header('upload-offset', String(size))
      await sendUploadAnswer(reply, settled.answer)
      return
    }
    if (settled.kind === 'refused') throw new HttpError(settled.status, settled.message)
  }
  reply.header('upload-offset', String(offset))
  if (entry.creation_date !== undefined) {
    reply.header('upload-expires', new Date(new Date(entry.creation_date).getTime() + resumable.store.getExpiration()).toUTCString())
  }
  await reply.code(201).send()
}

export default tusRoutes
