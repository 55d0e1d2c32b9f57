import type { Multipart, MultipartFile } from '@fastify/multipart'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { finished } from 'node:stream/promises'
import { badRequest, HttpError, tooLarge, unsupportedMediaType } from '../../core/http-error.ts'
import { SUPPORTED_IMAGE_TYPES } from '../../core/image-type.ts'
import { normalizePhoneNumber } from '../../core/phone-number.ts'
import { EmptyFileError, NotAnImageError, removeStaged, stageFile, type StagedFile } from '../../staging/staged-files.ts'

export const REQUIRED_MESSAGE = 'Phone number and images are required.'

export interface ReceivedFile extends StagedFile {
  originalName: string
  receivedAt: Date
}

export interface ReceivedUpload {
  phoneNumber: string
  files: ReceivedFile[]
  /** The request that sent the files (its X-Request-Id): carried into their jobs for the worker's logs. */
  requestId?: string
}

export interface ReceiveLimits {
  maxFileBytes: number
  maxFiles: number
  /** A body that stops arriving for this long is cut off (UPLOAD_IDLE_TIMEOUT_MS). */
  idleTimeoutMs: number
}

type MultipartErrors = FastifyInstance['multipartErrors']

const IMAGE_FIELD = /^images(\[\d*\])?$/
const MiB = 1024 * 1024
// Room for the form's own bytes beside the files: part headers, boundaries, the phone number and
// other small fields (at most 20 of 1 KiB each).
const MULTIPART_OVERHEAD_BYTES = MiB
const formatBytes = (n: number): string => n >= MiB ? `${+(n / MiB).toFixed(1)} MB` : `${n} bytes`

/** Stages one file part; undefined for the empty, unnamed part a browser sends for "no file chosen". */
async function stageOne (part: MultipartFile, stagingDir: string, limits: ReceiveLimits, errors: MultipartErrors, removeLocation: boolean): Promise<ReceivedFile | undefined> {
  const name = part.filename
  let staged: StagedFile
  try {
    staged = await stageFile(part.file, stagingDir, { removeLocation })
  } catch (err) {
    if (err instanceof NotAnImageError) throw unsupportedMediaType(`File '${name}' is not an image (${SUPPORTED_IMAGE_TYPES}).`)
    if (err instanceof EmptyFileError) {
      if (name === '') return undefined
      throw badRequest(`File '${name}' is empty.`)
    }
    if (err instanceof errors.RequestFileTooLargeError) throw fileTooLarge(name, limits)
    throw err
  }
  if (part.file.truncated) {
    await removeStaged([staged.path])
    throw fileTooLarge(name, limits)
  }
  return { ...staged, originalName: name, receivedAt: new Date() }
}

const fileTooLarge = (name: string, limits: ReceiveLimits): HttpError =>
  tooLarge(`File '${name}' is larger than the limit of ${formatBytes(limits.maxFileBytes)}.`)

/**
 * Cuts the connection of a client that stops sending mid-body: the socket's inactivity timeout,
 * armed only while the body is read; the returned function disarms it. Not Fastify's
 * connectionTimeout, which would hold for the whole request: a client that has sent everything
 * and waits (up to UPLOAD_WAIT_MS) for its files to be stored sees no byte flow either, and must
 * not be cut. The cut ends the multipart stream with an error, so the file being staged is
 * removed and nothing is queued.
 */
export function cutOffWhenIdle (request: FastifyRequest, idleMs: number): () => void {
  const socket = request.raw.socket
  // An injected request (tests, light-my-request) has a stand-in socket without timeouts.
  if (typeof socket.setTimeout !== 'function') return () => {}
  const onIdle = (): void => {
    request.log.warn({ idleMs }, 'upload body stalled: connection cut off')
    socket.destroy()
  }
  socket.setTimeout(idleMs, onIdle)
  return () => { socket.setTimeout(0, onIdle) }
}

/**
 * Reads a multipart upload: the phone_number field and image files under `images` or `images[]`,
 * in any order. Each file is streamed to the staging directory as it arrives. Any problem stops
 * the read, removes what was staged, and throws a HttpError that says what to fix.
 */
export async function receiveUpload (request: FastifyRequest, stagingDir: string, limits: ReceiveLimits): Promise<ReceivedUpload> {
  // The contract's 400: a body of another kind carries no image files.
  if (!request.isMultipart()) throw badRequest(REQUIRED_MESSAGE)
  // A body announced larger than any acceptable upload is refused before a byte of it is read.
  const declared = Number(request.headers['content-length'])
  if (declared > limits.maxFiles * limits.maxFileBytes + MULTIPART_OVERHEAD_BYTES) {
    throw tooLarge(`The request is larger than any upload can be: at most ${limits.maxFiles} images of ${formatBytes(limits.maxFileBytes)} each.`)
  }
  const files: ReceivedFile[] = []
  let phoneRaw: string | undefined
  const disarm = cutOffWhenIdle(request, limits.idleTimeoutMs)
  try {
    const parts: AsyncIterableIterator<Multipart> = request.parts({
      limits: { fileSize: limits.maxFileBytes, files: limits.maxFiles + 1, fields: 20, fieldSize: 1024, parts: limits.maxFiles + 40 }
    })
    for await (const part of parts) {
      const fieldName = part.fieldname ?? ''
      if (part.type === 'field') {
        if (fieldName === 'phone_number' && phoneRaw === undefined && typeof part.value === 'string') {
          phoneRaw = part.value
        } else if (fieldName === 'phone_number' || fieldName.startsWith('phone_number[')) {
          throw badRequest('phone_number must be sent once, as a single text value.')
        }
        continue
      }
      if (!IMAGE_FIELD.test(fieldName)) {
        // Files under other names are not ours to store; read past them.
        part.file.resume()
        await finished(part.file)
        continue
      }
      if (files.length === limits.maxFiles) {
        throw tooLarge(`Too many images: at most ${limits.maxFiles} per request.`)
      }
      // STRIP_LOCATION: a JPEG's EXIF GPS is taken out as it streams in (the rest: accept-upload.ts).
      const file = await stageOne(part, stagingDir, limits, request.server.multipartErrors, request.server.config.stripLocation)
      if (file) files.push(file)
    }
  } catch (err) {
    await removeStaged(files.map(f => f.path))
    // The client went away, or was cut off as idle: Node's "aborted" (ECONNRESET) is a request
    // that ended early, not a dependency that is down.
    if ((err as NodeJS.ErrnoException).code === 'ECONNRESET' && request.raw.socket?.destroyed === true) {
      throw badRequest('The multipart body is incomplete: the request ended early.')
    }
    throw translateMultipartError(err, request.server.multipartErrors)
  } finally {
    // The body is in (or the read gave up): waiting for the workers is not idleness.
    disarm()
  }

  if (phoneRaw === undefined || phoneRaw.trim() === '' || files.length === 0) {
    await removeStaged(files.map(f => f.path))
    throw badRequest(REQUIRED_MESSAGE)
  }
  const phone = normalizePhoneNumber(phoneRaw)
  if (!phone.ok) {
    await removeStaged(files.map(f => f.path))
    throw badRequest(phone.message)
  }
  return { phoneNumber: phone.phoneNumber, files, requestId: request.id }
}

/**
 * @fastify/multipart's own errors, matched by class and reworded for a person. busboy's parse
 * errors ("Unexpected end of multipart data", a part cut short) are plain Errors with no code,
 * unlike system errors (ENOSPC, EACCES), which stay 5xx.
 */
function translateMultipartError (err: unknown, errors: MultipartErrors): unknown {
  if (err instanceof HttpError) return err
  if (err instanceof errors.FilesLimitError || err instanceof errors.PartsLimitError) return tooLarge('Too many parts in this request.')
  if (err instanceof errors.FieldsLimitError) return badRequest('Too many form fields in this request.')
  if (err instanceof errors.PrototypeViolationError || err instanceof errors.InvalidMultipartContentTypeError) return badRequest('The multipart body is malformed.')
  // The one error @fastify/multipart does not export as a class; its code is its public name.
  if ((err as { code?: string }).code === 'FST_INVALID_JSON_FIELD_ERROR') return badRequest('A form field sent as application/json is not valid JSON.')
  if (err instanceof errors.PrematureCloseError) return badRequest('The multipart body is incomplete: the request ended early.')
  if (err instanceof Error && err.constructor === Error && (err as NodeJS.ErrnoException).code === undefined) {
    return badRequest('The multipart body is malformed or incomplete.')
  }
  return err
}
