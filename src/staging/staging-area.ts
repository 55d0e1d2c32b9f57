import { access, constants, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Config } from '../config.ts'
import { readManifest, writeManifest } from './manifest.ts'
import { ensureBucket, s3Area, s3Client } from './s3-staging.ts'
import { ensureDir, removeStaged } from './staged-files.ts'

// Where an accepted file waits for a worker. The API stages every file in its own STAGING_DIR
// first (stageFile: bytes sniffed and hashed on the way in, location metadata edited in place);
// `keep` then makes it durable where any worker finds it: in that same directory (one machine,
// or a network file system), or in an S3 bucket (s3-staging.ts), bytes first, then the manifest.

/** What a job says about its staged bytes: its upload id, and where `keep` put them. */
export interface StagedRef {
  uploadId: string
  stagedPath: string
  /** Dropbox's content hash of the bytes as received: a copy fetched from S3 is checked against it. */
  contentHash?: string
}

export interface AcceptedFile {
  uploadId: string
  /** The bytes in this process's STAGING_DIR. */
  localPath: string
  /** Everything needed to queue the job again (staging/manifest.ts), written after the bytes. */
  manifest: object
}

/** One thing the area holds: `<id>`, `<id>.json`, and in a directory `<id>.partial`, `<id>.json.tmp`. */
export interface AreaEntry {
  name: string
  mtimeMs: number
}

export interface StagingArea {
  readonly kind: 'directory' | 's3'
  /** The job's stagedPath for a file staged at localPath: a path, or `s3://bucket/key`. */
  stagedPathOf: (uploadId: string, localPath: string) => string
  /** Makes accepted files durable for the workers: bytes, then manifest; rejects when any failed. */
  keep: (files: AcceptedFile[]) => Promise<void>
  /** The manifest of an accepted file, or undefined when there is none. */
  readManifest: (uploadId: string) => Promise<unknown>
  /** A path on this machine with the staged bytes (a worker's download, from S3); undefined: gone. */
  localCopy: (ref: StagedRef) => Promise<string | undefined>
  /** Removes bytes and manifest, wherever they are (this process's copy included). */
  remove: (refs: StagedRef[]) => Promise<void>
  /** For the sweeper (worker/staging-janitor.ts). */
  entries: () => AsyncIterable<AreaEntry>
  removeEntry: (name: string) => Promise<void>
  /** S3: aborts multipart uploads begun longer ago than this (an API died while sending); returns how many. */
  abortAbandoned?: (olderThanMs: number) => Promise<number>
  /** Health check: rejects when the area cannot be written. */
  check: () => Promise<void>
  close: () => Promise<void>
}

/**
 * The area the settings name. With S3 its bucket is made if missing; S3 unreachable at start is
 * reported, not fatal (as for Redis: the process starts, and its readiness says what is down).
 */
export async function openStagingArea (config: Pick<Config, 'stagingDir' | 's3Staging'>, onUnreachable: (err: unknown) => void): Promise<StagingArea> {
  const settings = config.s3Staging
  if (settings === undefined) return directoryArea(config.stagingDir)
  // The scratch directory: a worker's downloads land there.
  await ensureDir(config.stagingDir)
  const client = s3Client(settings)
  await ensureBucket(client, settings.bucket).catch(onUnreachable)
  return s3Area(settings, config.stagingDir, client)
}

/** STAGING=directory: the API's staging directory is the workers' too. */
export function directoryArea (dir: string): StagingArea {
  return {
    kind: 'directory',
    stagedPathOf: (_id, localPath) => localPath,
    keep: async files => { await Promise.all(files.map(f => writeManifest(f.localPath, f.manifest))) },
    readManifest: id => readManifest(join(dir, id)),
    localCopy: async ref => (await stat(ref.stagedPath).catch(() => undefined))?.isFile() === true ? ref.stagedPath : undefined,
    remove: refs => removeStaged(refs.map(r => r.stagedPath)),
    entries: async function * () {
      for (const name of await readdir(dir).catch(() => [])) {
        const info = await stat(join(dir, name)).catch(() => undefined)
        if (info?.isFile()) yield { name, mtimeMs: info.mtimeMs }
      }
    },
    removeEntry: name => rm(join(dir, name), { force: true }),
    check: () => access(dir, constants.W_OK),
    close: async () => {}
  }
}
