// Distinct uploads (every one its own random PNG, one file per request), posted by a number of
// keep-alive clients, then compared with what reached the Dropbox emulator and MongoDB by content
// hash. Used by the benchmarks that must show no upload is lost or stored twice.
import { Agent } from 'node:http'
import type { Connection } from 'mongoose'
import { randomPng } from '../../test/helpers/images.ts'
import { DropboxContentHasher } from '../../src/core/content-hash.ts'
import type { Emulator } from './stack.ts'
import { postUpload, uploadBody } from './uploads.ts'

export interface Upload {
  index: number
  phone: string
  fileName: string
  body: Buffer
  contentHash: string
}

export interface UploadAnswer {
  status: number
  ms: number
  body: string
}

/** `images` uploads of about `imageBytes` each, over `phones` numbers starting with `phonePrefix`. */
export function makeUploads (options: { images: number, phones: number, imageBytes: number }, phonePrefix: string): Upload[] {
  return Array.from({ length: options.images }, (_, index) => {
    const image = randomPng(options.imageBytes)
    const phone = `${phonePrefix}${String(index % options.phones).padStart(4, '0')}`
    const fileName = `photo-${index}.png`
    return { index, phone, fileName, body: uploadBody(phone, fileName, image), contentHash: new DropboxContentHasher().update(image).digest() }
  })
}

/**
 * `clients` loops, each posting the next upload as soon as its previous one answered; a request
 * that failed is answered status 0. `startedAt` and each `doneAt` are performance.now() values.
 */
export async function postAll (url: string, uploads: Upload[], clients: number): Promise<{ responses: UploadAnswer[], startedAt: number, doneAt: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients })
  const responses: UploadAnswer[] = new Array(uploads.length)
  let next = 0
  const startedAt = performance.now()
  await Promise.all(Array.from({ length: clients }, async () => {
    while (next < uploads.length) {
      const upload = uploads[next++]!
      try {
        responses[upload.index] = await postUpload(url, upload.body, agent)
      } catch (err) {
        responses[upload.index] = { status: 0, ms: performance.now() - startedAt, body: String(err) }
      }
    }
  }))
  const doneAt = performance.now()
  agent.destroy()
  return { responses, startedAt, doneAt }
}

export interface StoredCheck {
  records: number
  files: number
  missingRecords: number
  missingFiles: number
  duplicateRecords: number
  duplicateFiles: number
  foreignFiles: number
  recordsWithoutFile: number
}

/**
 * The emulator's files and the Image documents under the uploads' phone numbers, against the
 * uploads: missing, duplicate (more than one file or document with the same bytes), foreign
 * (bytes nobody sent) and records pointing at no file. An upload failed when its answer was an
 * error or no record holds its bytes (counted once).
 */
export async function checkStored (uploads: Upload[], responses: UploadAnswer[], emulator: Emulator, db: Connection): Promise<{ check: StoredCheck, failedUploads: number }> {
  const phones = new Set(uploads.map(u => u.phone))
  const files = (await emulator.files()).filter(f => phones.has(f.path_lower.split('/')[1]!))
  const records = await db.collection('images')
    .find({ phone_number: { $in: [...phones] } }, { projection: { content_hash: 1, storage_path: 1, upload_id: 1 } })
    .toArray()
  const sent = new Set(uploads.map(u => u.contentHash))
  const countBy = (hashes: string[]): Map<string, number> => hashes.reduce((m, h) => m.set(h, (m.get(h) ?? 0) + 1), new Map<string, number>())
  const fileHashes = countBy(files.map(f => f.content_hash))
  const recordHashes = countBy(records.map(r => String(r.content_hash)))
  const filePaths = new Set(files.map(f => f.path_lower))
  const check = {
    records: records.length,
    files: files.length,
    missingRecords: [...sent].filter(h => !recordHashes.has(h)).length,
    missingFiles: [...sent].filter(h => !fileHashes.has(h)).length,
    duplicateRecords: [...recordHashes.values()].reduce((a, n) => a + n - 1, 0),
    duplicateFiles: [...fileHashes.values()].reduce((a, n) => a + n - 1, 0),
    foreignFiles: [...fileHashes.keys()].filter(h => !sent.has(h)).length,
    recordsWithoutFile: records.filter(r => !filePaths.has(String(r.storage_path).toLowerCase())).length
  }
  const failedUploads = uploads.filter(u => {
    const status = responses[u.index]!.status
    return (status !== 200 && status !== 202) || !recordHashes.has(u.contentHash)
  }).length
  return { check, failedUploads }
}
