import type { Multipart, MultipartFile } from '@fastify/multipart'
import type { FastifyRequest } from 'fastify'
import { finished } from 'node:stream/promises'
import { badRequest, ClientError, tooLarge, unsupportedMediaType } from '../errors.ts'
import { SUPPORTED_IMAGE_TYPES } from './image-type.ts'
import { normalizePhoneNumber } from './phone-number.ts'
import { EmptyFileError, NotAnImageError, removeStaged, stageFile, type StagedFile } from './staging.ts'

export const REQUIRED_MESSAGE = 'Phone number and images are required.'

export interface ReceivedFile extends StagedFile {
  originalName: string
  receivedAt: Date
}

export interface ReceivedUpload {
  phoneNumber: string
  files: ReceivedFile[]
}

export interface ReceiveLimits {
  maxFileBytes: number
  maxFiles: number
}

const IMAGE_FIELD = /^images(\[\d*\])?$/
const MiB = 1024 * 1024
const formatBytes = (n: number): string => n >= MiB ? `${+(n / MiB).toFixed(1)} MB` : `${n} bytes`

/** Stages one file part; undefined for the empty, unnamed part a browser sends for "no file chosen". */
async function stageOne (part: MultipartFile, stagingDir: string, limits: ReceiveLimits): Promise<ReceivedFile | undefined> {
  const name = part.filename
  let staged: StagedFile
  try {
    staged = await stageFile(part.file, stagingDir)
  } catch (err) {
    if (err instanceof NotAnImageError) throw unsupportedMediaType(`File '${name}' is not an image (${SUPPORTED_IMAGE_TYPES}).`)
    if (err instanceof EmptyFileError) {
      if (name === '') return undefined
      throw badRequest(`File '${name}' is empty.`)
    }
    if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') throw fileTooLarge(name, limits)
    throw err
  }
  if (part.file.truncated) {
    await removeStaged([staged.path])
    throw fileTooLarge(name, limits)
  }
  return { ...staged, originalName: name, receivedAt: new Date() }
}

const fileTooLarge = (name: string, limits: ReceiveLimits): ClientError =>
  tooLarge(`File '${name}' is larger than the limit of ${formatBytes(limits.maxFileBytes)}.`)

/**
 * Reads a multipart upload: the phone_number field and image files under `images` or `images[]`,
 * in any order. Each file is streamed to the staging directory as it arrives. Any problem stops
 * the read, removes what was staged, and throws a ClientError that says what to fix.
 */
export async function receiveUpload (request: FastifyRequest, stagingDir: string, limits: ReceiveLimits): Promise<ReceivedUpload> {
  // The contract's 400: a body of another kind carries no image files.
  if (!request.isMultipart()) throw badRequest(REQUIRED_MESSAGE)
  const files: ReceivedFile[] = []
  let phoneRaw: string | undefined
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
      const file = await stageOne(part, stagingDir, limits)
      if (file) files.push(file)
    }
  } catch (err) {
    await removeStaged(files.map(f => f.path))
    throw translateMultipartError(err)
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
  return { phoneNumber: phone.phoneNumber, files }
}

/** @fastify/multipart's own limit and parse errors, reworded for a person. */
function translateMultipartError (err: unknown): unknown {
  if (err instanceof ClientError) return err
  const code = (err as { code?: string }).code
  switch (code) {
    case 'FST_FILES_LIMIT':
    case 'FST_PARTS_LIMIT':
      return tooLarge('Too many parts in this request.')
    case 'FST_INVALID_JSON_FIELD_ERROR':
      return badRequest('A form field sent as application/json is not valid JSON.')
    case 'FST_FIELDS_LIMIT':
      return badRequest('Too many form fields in this request.')
    case 'FST_PROTO_VIOLATION':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return badRequest('The multipart body is malformed.')
  }
  const message = (err as Error).message ?? ''
  // busboy's parse errors ("Unexpected end of form", "Malformed part header", ...).
  if (/unexpected end of (form|multipart)|malformed|boundary/i.test(message)) return badRequest('The multipart body is malformed or incomplete.')
  return err
}
