import type { Types } from 'mongoose'
import { variantFolder } from '../../core/image-variants.ts'
import type { ImageModel } from '../../models/image.ts'
import type { Storage } from '../../storage/storage.ts'

export type FileOutcome =
  | 'deleted' // removed from storage
  | 'already-gone' // storage no longer had it
  | 'kept' // the operator chose to keep it
  | 'shared' // another record points at the same stored file
  | 'failed' // storage refused or was unreachable: the record was kept too

export interface DeleteOutcome {
  id: string
  fileName: string
  /** The stored file ("storage:path"): several records may share one, so reports count these. */
  fileKey: string
  recordDeleted: boolean
  file: FileOutcome
  /** Why the file could not be deleted, for the operator. */
  error?: string
}

interface Target {
  _id: Types.ObjectId
  file_name: string
  storage: string
  storage_path: string
  variants?: { status: string } | null
}

const CONCURRENCY = 4

/**
 * Deletes records, and with `alsoFile` their stored files, file first: when storage fails the
 * record stays, so nothing is left in storage that no record points at (it could never be found
 * again from the panel). A file deleted whose record then fails to go leaves a record with a
 * dead link, visible, and deleting it again finishes the job ("already gone").
 */
export async function deleteImages (images: ImageModel, storage: Storage, ids: Types.ObjectId[], alsoFile: boolean): Promise<DeleteOutcome[]> {
  const targets = await images.find({ _id: { $in: ids } }, { file_name: 1, storage: 1, storage_path: 1, variants: 1 }).lean<Target[]>()
  const removals = new Map<string, Promise<FileOutcome>>()
  const outcomes: DeleteOutcome[] = []
  const queue = [...targets]
  const work = async (): Promise<void> => {
    for (let target = queue.shift(); target; target = queue.shift()) {
      outcomes.push(await deleteOne(target))
    }
  }

  const deleteOne = async (target: Target): Promise<DeleteOutcome> => {
    const base = { id: target._id.toHexString(), fileName: target.file_name, fileKey: keyOf(target) }
    let file: FileOutcome = 'kept'
    if (alsoFile) {
      try {
        file = await removeFile(target)
      } catch (err) {
        return { ...base, recordDeleted: false, file: 'failed', error: describe(err) }
      }
    }
    // The image's renderings are the record's, never shared and never kept: they go with it,
    // before it, so none is left in storage that no record names.
    if (target.variants?.status === 'ready' && target.storage === storage.kind) {
      try {
        await storage.remove(variantFolder(base.id))
      } catch (err) {
        return { ...base, recordDeleted: false, file, error: `its display rendering and thumbnail could not be deleted (${describe(err)})` }
      }
    }
    try {
      const { deletedCount } = await images.deleteOne({ _id: target._id })
      return { ...base, recordDeleted: deletedCount === 1, file }
    } catch (err) {
      return { ...base, recordDeleted: false, file, error: `the record could not be deleted (${describe(err)})` }
    }
  }

  // Several records of one deletion may share a file: it is removed once, for all of them.
  const removeFile = (target: Target): Promise<FileOutcome> => {
    const key = keyOf(target)
    let removal = removals.get(key)
    if (!removal) {
      removal = removeUnshared(target)
      removals.set(key, removal)
    }
    return removal
  }

  const removeUnshared = async (target: Target): Promise<FileOutcome> => {
    if (target.storage !== storage.kind) {
      throw new Error(`the file is in ${target.storage} storage, and this service is configured for ${storage.kind}`)
    }
    // A retried upload of identical bytes can leave two records on one file (storage does not
    // write the same content twice): that file must outlive the records that are not deleted.
    const others = await images.countDocuments({ storage: target.storage, storage_path: target.storage_path, _id: { $nin: ids } })
    if (others > 0) return 'shared'
    return await storage.remove(target.storage_path) ? 'deleted' : 'already-gone'
  }

  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, targets.length) }, work))
  return outcomes
}

const keyOf = (target: Target): string => `${target.storage}:${target.storage_path}`

function describe (err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return message.length > 300 ? `${message.slice(0, 300)}...` : message
}
