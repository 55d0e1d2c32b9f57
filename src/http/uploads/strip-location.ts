import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { HttpError } from '../../core/http-error.ts'
import { LocationNotRemovedError, removeLocation, UnreadableMetadataError } from '../../staging/location/remove-location.ts'
import { removeStaged } from '../../staging/staged-files.ts'
import type { ReceivedFile, ReceivedUpload } from './receive-multipart.ts'

/**
 * The location-privacy step of every upload route (acceptUpload runs it before any manifest is
 * written): each staged file loses its location metadata, or the request is refused with a 422
 * naming the file that could not be checked or cleaned, with nothing left staged or queued.
 * The files come back with the size and Dropbox content hash of the bytes that will be stored.
 * STRIP_LOCATION=false keeps every file exactly as sent.
 */
export async function stripLocations (fastify: FastifyInstance, log: FastifyBaseLogger, received: ReceivedUpload): Promise<ReceivedUpload> {
  if (!fastify.config.stripLocation) return received
  try {
    const files = await Promise.all(received.files.map(file => stripOne(fastify, log, file)))
    return { ...received, files }
  } catch (err) {
    await removeStaged(received.files.map(f => f.path))
    throw err
  }
}

async function stripOne (fastify: FastifyInstance, log: FastifyBaseLogger, file: ReceivedFile): Promise<ReceivedFile> {
  let removed
  try {
    removed = await removeLocation(file, fastify.exiftool)
  } catch (err) {
    if (err instanceof UnreadableMetadataError) {
      log.info({ file: file.originalName, reason: err.message }, 'upload refused: metadata unreadable')
      throw new HttpError(422, `File '${file.originalName}' could not be checked for location data: its metadata is damaged or in a form this service cannot read. ` +
        'Export the photo again, or send it without metadata.')
    }
    if (err instanceof LocationNotRemovedError) {
      log.warn({ file: file.originalName, err }, 'upload refused: location could not be removed')
      throw new HttpError(422, `File '${file.originalName}' carries location data that could not be removed. Export the photo again without location, or send it without metadata.`)
    }
    throw err
  }
  if (!removed) return file
  log.debug({ file: file.originalName, how: removed.how, size: removed.size }, 'location metadata removed')
  return { ...file, size: removed.size, contentHash: removed.contentHash }
}
