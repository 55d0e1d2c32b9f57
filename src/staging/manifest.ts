import { readFile, rename, unlink, writeFile } from 'node:fs/promises'

// An accepted file is durable: beside its staged bytes sits a small manifest holding everything
// needed to finish it (the job's data, the idempotency key), written before the job is queued.
// If Redis loses the job, the manifest brings it back under the same upload id.

export const MANIFEST_SUFFIX = '.json'

export function manifestPath (stagedPath: string): string {
  return stagedPath + MANIFEST_SUFFIX
}

/** Written to a temporary name and renamed, so a manifest on disk is always whole. */
export async function writeManifest (stagedPath: string, manifest: object): Promise<void> {
  const path = manifestPath(stagedPath)
  await writeFile(`${path}.tmp`, JSON.stringify(manifest))
  await rename(`${path}.tmp`, path)
}

/** The manifest's content, or undefined when there is none (stored and cleaned up, or refused). */
export async function readManifest (stagedPath: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(manifestPath(stagedPath), 'utf8'))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

export async function removeManifest (stagedPath: string): Promise<void> {
  // One unlink, no lstat first (rm's `force`): this runs for every upload.
  await unlink(manifestPath(stagedPath)).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err })
}
