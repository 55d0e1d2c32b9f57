import { AsyncLocalStorage } from 'node:async_hooks'
import { rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Server, ERRORS, type CancellationContext } from '@tus/server'
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyRequest } from 'fastify'
import { badRequest, HttpError } from '../../core/http-error.ts'
import { SUPPORTED_IMAGE_TYPES } from '../../core/image-type.ts'
import { normalizePhoneNumber } from '../../core/phone-number.ts'
import type { ExpectedChecksum } from '../../core/upload-checksum.ts'
import { isUploadId, newUploadId } from '../../core/upload-id.ts'
import { answerFor, type ErrorWording } from '../../plugins/error-policy.ts'
import { blockingConnection } from '../../queue/redis.ts'
import { inspectFile } from '../../staging/inspect-file.ts'
import { RedisLocker } from '../../staging/resumable-lock.ts'
import { ResumableStore, type AcceptedBytes, type ResumableEntry } from '../../staging/resumable-store.ts'
import { EmptyFileError, NotAnImageError } from '../../staging/staged-files.ts'
import { acceptUpload, uploadAnswerResponse, type UploadAnswer } from './accept-upload.ts'
import { fileResult } from './file-result.ts'
import type { ReceivedUpload } from './receive-multipart.ts'

// Resumable uploads (tus 1.0) through @tus/server, into the same pipeline as multipart ones: the
// tus upload's id is the upload id, its bytes grow in the staging area (staging/resumable-store.ts)
// under a Redis lock (staging/resumable-lock.ts), and when the last byte lands the file is sniffed
// and hashed, moved to `<STAGING_DIR>/<upload id>` and handed to acceptUpload, which queues its
// job and waits; the last PATCH answers what a one-file POST /api/upload/ would.

export const TUS_PATH = '/api/tus'
export const TUS_VERSION = '1.0.0'

/** What the hooks of one request need: tus calls them with its own request object only. */
export interface TusCall {
  request: FastifyRequest
  /** The upload id a creation under an Idempotency-Key claimed for itself. */
  presetId?: string
  /** The id tus gave the upload this request created, if it created one. */
  createdId?: string
  checksum?: ExpectedChecksum
  /** Gives back the Idempotency-Key this creation claimed, when the creation fails. */
  releaseKey?: () => Promise<void>
  /** Ends the idle cut-off once the body is in (the last PATCH then waits for the worker). */
  disarmIdle: () => void
  /** The upload this request refused (not an image, or empty) and forgot, with its size. */
  refused?: { id: string, size: number }
}

export type Settled =
  | { kind: 'answer', answer: UploadAnswer }
  | { kind: 'refused', status: number, message: string }
  /** No such upload, or not complete yet: tus answers for it. */
  | { kind: 'not-ready' }
  /** Handed to the pipeline without waiting (a HEAD noticed it complete). */
  | { kind: 'accepting' }

export interface Resumable {
  server: Server
  store: ResumableStore
  locker: RedisLocker
  calls: AsyncLocalStorage<TusCall>
  /** The Location of an upload, as this request reaches the API (TRUST_PROXY honoured). */
  uploadUrl: (request: FastifyRequest, id: string) => string
  /** Makes sure a complete upload is in the pipeline; with `wait`, waits for its outcome. */
  settle: (id: string, log: FastifyBaseLogger, wait: boolean) => Promise<Settled>
}

const WORDING: ErrorWording = {
  invalid: detail => `Invalid request: ${detail}.`,
  unavailable: 'The service is temporarily unavailable. Please retry shortly.',
  internal: 'Internal server error.'
}

const MiB = 1024 * 1024
const formatBytes = (n: number): string => n >= MiB ? `${+(n / MiB).toFixed(1)} MB` : `${n} bytes`
const JSON_TYPE = 'application/json; charset=utf-8'
const json = (message: string): string => JSON.stringify({ message })

/** tus's own messages, for the errors a phone app meets, in the words of the rest of the API. */
function tusMessages (maxFileBytes: number): Map<unknown, { status: number, message: string }> {
  return new Map<unknown, { status: number, message: string }>([
    [ERRORS.ERR_MAX_SIZE_EXCEEDED, { status: 413, message: `The file is larger than the limit of ${formatBytes(maxFileBytes)}.` }],
    [ERRORS.ERR_SIZE_EXCEEDED, { status: 413, message: 'The body goes past Upload-Length: send only the bytes from Upload-Offset to the end of the file.' }],
    [ERRORS.ERR_LOCK_TIMEOUT, { status: 423, message: 'This upload is busy with another request. Retry shortly (HEAD gives the offset to resume from).' }],
    [ERRORS.FILE_NOT_FOUND, { status: 404, message: 'No such upload: it was never created, was refused, or expired. Start a new upload.' }],
    [ERRORS.FILE_NO_LONGER_EXISTS, { status: 410, message: 'This upload expired before it was finished. Start a new upload.' }],
    [ERRORS.INVALID_OFFSET, { status: 409, message: 'Upload-Offset is not where this upload stands: HEAD it for its offset and resume from there.' }],
    [ERRORS.INVALID_TERMINATION, { status: 400, message: 'This upload is complete and was accepted; it can no longer be terminated.' }],
    // tus says 501; it is the client's request to change, and no client input may get a 5xx (issue 11).
    [ERRORS.UNSUPPORTED_CREATION_DEFER_LENGTH_EXTENSION, { status: 400, message: 'Upload-Defer-Length is not supported: send Upload-Length at creation.' }]
  ])
}

/** Every error is the API's `{ "message": ... }`, as JSON (tus writes plain text otherwise). */
class JsonErrorServer extends Server {
  override async write (context: CancellationContext, headers: Headers, status: number, body = ''): Promise<Response> {
    if (status < 400) return super.write(context, headers, status, body)
    headers.set('Content-Type', JSON_TYPE)
    return super.write(context, headers, status, body.startsWith('{') ? body : json(body.trim()))
  }
}

export async function createResumable (fastify: FastifyInstance): Promise<Resumable> {
  const { config } = fastify
  const { upload, stagingDir, redisUrl, queuePrefix } = config
  const { redis, waiter, find } = fastify.uploadQueue
  const calls = new AsyncLocalStorage<TusCall>()
  const messages = tusMessages(upload.maxFileBytes)

  const store = ResumableStore.fromConfig(config, redis, {
    expectedChecksum: () => calls.getStore()?.checksum,
    refusedHere: id => {
      const refused = calls.getStore()?.refused
      return refused?.id === id ? refused.size : undefined
    }
  })
  const subscriber = blockingConnection(redisUrl, 'api-resumable-locks', err => { fastify.log.warn({ err: err.message }, 'redis connection error') })
  const locker = new RedisLocker(redis, subscriber, {
    prefix: queuePrefix,
    onError: err => { fastify.log.warn({ err: err.message }, 'resumable upload lock') }
  })
  await locker.start()
  fastify.addHook('onClose', async () => {
    subscriber.disconnect()
    store.close()
  })

  const uploadUrl = (request: FastifyRequest, id: string): string => `${request.protocol}://${request.host}${TUS_PATH}/${id}`
  const logOf = (): FastifyBaseLogger => calls.getStore()?.request.log ?? fastify.log

  /**
   * Under the upload's lock: moves a complete upload's bytes to `<STAGING_DIR>/<id>` (from S3: a
   * download), sniffs and hashes them, records the upload as accepted. Every step can be taken
   * again after a crash or by a concurrent request (a retried last PATCH, a HEAD), through any
   * API process: the bytes are found where they are.
   */
  async function prepare (id: string): Promise<ReceivedUpload | Settled> {
    const lock = locker.newLock(id)
    // Not cancellable: it is short (one read of the file), and must not stop half-way.
    await lock.lock(new AbortController().signal, () => {})
    try {
      const entry = await store.entry(id)
      if (!entry) return { kind: 'not-ready' }
      const staged = join(stagingDir, id)
      let accepted = entry.accepted
      if (!accepted) {
        const moved = await store.received(id) === entry.size && await store.takeBytes(id, staged)
        // Or moved by a request that died before it recorded the upload as accepted.
        if (!moved && (await stat(staged).catch(() => undefined))?.size !== entry.size) return { kind: 'not-ready' }
        const inspected = await inspect(entry, staged)
        if ('kind' in inspected) return inspected
        accepted = inspected
        await store.markAccepted(entry, accepted)
      }
      const meta = entry.metadata ?? {}
      return {
        phoneNumber: meta.phone_number ?? '',
        files: [{ uploadId: id, path: staged, size: accepted.size, contentHash: accepted.contentHash, type: accepted.type, originalName: meta.filename ?? '', receivedAt: new Date(accepted.receivedAt) }]
      }
    } finally {
      await lock.unlock()
    }
  }

  /** The accepted bytes' facts, or the refusal of a file that is not an image (then forgotten). */
  async function inspect (entry: ResumableEntry, staged: string): Promise<AcceptedBytes | Settled> {
    try {
      const { size, contentHash, type } = await inspectFile(staged)
      return { receivedAt: new Date().toISOString(), size, contentHash, type }
    } catch (err) {
      if (!(err instanceof NotAnImageError) && !(err instanceof EmptyFileError)) throw err
      await store.forget(entry.id)
      const call = calls.getStore()
      if (call) call.refused = { id: entry.id, size: entry.size ?? 0 }
      await rm(staged, { force: true })
      const name = entry.metadata?.filename ?? ''
      return err instanceof NotAnImageError
        ? { kind: 'refused', status: 415, message: `File '${name}' is not an image (${SUPPORTED_IMAGE_TYPES}).` }
        : { kind: 'refused', status: 400, message: `File '${name}' is empty.` }
    }
  }

  async function settle (id: string, log: FastifyBaseLogger, wait: boolean): Promise<Settled> {
    const prepared = await prepare(id)
    if ('kind' in prepared) return prepared
    // Already in the pipeline (a retried last PATCH, or HEAD after a lost answer): its outcome.
    const known = await find(id)
    if (known) {
      // An API process that died before it let go of the bytes (S3) left them: they go now.
      await store.releaseBytes(id).catch(err => log.warn({ err, uploadId: id }, 'could not remove the bytes of a resumable upload'))
      const outcome = known.outcome.status === 'pending' && wait ? await waiter.wait(id, upload.waitMs) : known.outcome
      return { kind: 'answer', answer: { phoneNumber: known.phoneNumber, results: [fileResult(id, known.fileName, outcome, config.publicBaseUrl)] } }
    }
    // Accepted through another API process (S3) that died before queueing it: its bytes come here.
    if (!await stat(prepared.files[0]!.path).catch(() => undefined)) await store.takeBytes(id, prepared.files[0]!.path)
    if (!await stat(prepared.files[0]!.path).catch(() => undefined)) {
      // Accepted once, but neither queued nor staged any more: lost, the client starts again.
      await store.forget(id)
      return { kind: 'refused', status: 410, message: 'This upload was lost before it could be stored. Start a new upload.' }
    }
    // The request that completed (or noticed) the upload names its job, for the worker's logs.
    const requestId = calls.getStore()?.request.id
    const accepting = acceptUpload(fastify, log, requestId === undefined ? prepared : { ...prepared, requestId }).then(async answer => {
      // In the pipeline now (staged and queued): the resumable copy of the bytes (S3) can go.
      await store.releaseBytes(id).catch(err => log.warn({ err, uploadId: id }, 'could not remove the bytes of a resumable upload'))
      return answer
    }, async (err: unknown) => {
      // Nothing was kept (acceptUpload removed the staged file): the upload is gone, not complete.
      await store.forget(id).catch(() => {})
      throw err
    })
    if (!wait) {
      accepting.catch(err => log.warn({ err, uploadId: id }, 'a complete resumable upload could not be accepted'))
      return { kind: 'accepting' }
    }
    return { kind: 'answer', answer: await accepting }
  }

  const server = new JsonErrorServer({
    path: TUS_PATH,
    datastore: store,
    locker,
    maxSize: upload.maxFileBytes,
    // The upload id names the tus upload, its staged file, its job and its record.
    namingFunction: () => {
      const call = calls.getStore()
      const id = call?.presetId ?? newUploadId()
      if (call) call.createdId = id
      return id
    },
    getFileIdFromRequest: (_req, lastPath) => lastPath !== undefined && isUploadId(lastPath) ? lastPath : undefined,
    generateUrl: (_req, { id }) => {
      const call = calls.getStore()
      return call ? uploadUrl(call.request, id) : `${TUS_PATH}/${id}`
    },
    disableTerminationForFinishedUploads: true,
    // The API's CORS policy (CORS_ORIGINS) for tus's own answers, which bypass @fastify/cors.
    allowedOrigins: config.corsOrigins.includes('*') ? undefined : origin => config.corsOrigins.includes(origin),
    allowedHeaders: ['Upload-Checksum', 'Idempotency-Key', 'X-API-Key', 'X-Request-Id'],
    exposedHeaders: ['Upload-Expires', 'Tus-Checksum-Algorithm', 'Retry-After', 'X-Request-Id'],

    async onUploadCreate (_req, created) {
      const meta = created.metadata ?? {}
      const name = meta.filename?.trim()
      if (!meta.phone_number?.trim() || !name) {
        throw badRequest('Upload-Metadata must carry phone_number and filename (each value base64-encoded).')
      }
      const phone = normalizePhoneNumber(meta.phone_number)
      if (!phone.ok) throw badRequest(phone.message)
      if (created.size === 0) throw badRequest(`File '${meta.filename}' is empty.`)
      // filetype is the client's word only: the bytes decide the type when the upload is complete.
      return { metadata: { ...meta, phone_number: phone.phoneNumber } }
    },

    async onIncomingRequest (req, id) {
      // A HEAD is how a client resumes. If the upload is complete but was never handed on (the
      // API died right after the last byte), it is handed on now: a complete upload always ends
      // in the pipeline, whichever request notices.
      if (req.method !== 'HEAD') return
      const entry = await store.entry(id)
      if (!entry) return
      if (!entry.accepted && await store.received(id) !== entry.size) return
      await settle(id, logOf(), false)
    },

    async onUploadFinish (req, finished) {
      const call = calls.getStore()
      call?.disarmIdle()
      const log = logOf()
      const headers: Record<string, string> = { 'Content-Type': JSON_TYPE }
      // A creation that carried the whole file answers here; tus adds Location only to a 201.
      if (req.method === 'POST' && call) headers.Location = uploadUrl(call.request, finished.id)
      try {
        const settled = await settle(finished.id, log, true)
        if (settled.kind === 'answer') {
          const { status, body } = uploadAnswerResponse(settled.answer)
          if (status === 500) log.warn({ phone: settled.answer.phoneNumber, failed: settled.answer.results }, 'upload failed')
          return { status_code: status, body: JSON.stringify(body), headers }
        }
        if (settled.kind === 'refused') {
          if (call) call.request.failureReason = settled.message
          return { status_code: settled.status, body: json(settled.message), headers }
        }
        // Not complete after all (another request truncated it: a checksum mismatch), or gone.
        return { status_code: 409, body: json('This upload is not complete yet: HEAD it for its offset.'), headers }
      } catch (err) {
        // Answered here rather than thrown, so that the answer keeps Upload-Offset.
        const answer = answerFor(err as FastifyError, WORDING)
        if (answer.kind === 'internal') log.error({ err }, 'unexpected error')
        if (answer.kind === 'unavailable') log.warn({ err }, 'dependency unavailable')
        if (call) call.request.failureReason = answer.message
        return { status_code: answer.status, body: json(answer.message), headers: { ...headers, ...answer.headers } }
      }
    },

    onResponseError (_req, err) {
      const call = calls.getStore()
      const known = messages.get(err)
      let status: number
      let message: string
      if (known) {
        ({ status, message } = known)
      } else if (!(err instanceof Error) && typeof err.status_code === 'number') {
        // tus's other protocol errors (and the checksum mismatch), in tus's words.
        status = err.status_code
        message = err.body.trim()
      } else {
        // Our hooks' HttpErrors, and anything unexpected (Redis down: 503), by the API's policy.
        const answer = answerFor(err as FastifyError, WORDING)
        if (answer.kind === 'internal') logOf().error({ err }, 'unexpected error')
        if (answer.kind === 'unavailable') logOf().warn({ err }, 'dependency unavailable')
        ;({ status, message } = answer)
      }
      if (call) call.request.failureReason = message
      return { status_code: status, body: json(message) }
    }
  })

  return { server, store, locker, calls, uploadUrl, settle }
}

/** An HttpError answered before tus sees the request still says which protocol it speaks. */
export function withTusHeader (err: unknown): unknown {
  if (err instanceof HttpError) return new HttpError(err.statusCode, err.message, { ...err.headers, 'tus-resumable': TUS_VERSION })
  return err
}
