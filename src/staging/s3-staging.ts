import { createReadStream, createWriteStream } from 'node:fs'
import { access, constants, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
  AbortMultipartUploadCommand, CreateBucketCommand, DeleteObjectsCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand,
  ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException, type S3ClientConfig
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import type { S3StagingSettings } from '../config.ts'
import { DropboxContentHasher } from '../core/content-hash.ts'
import { MANIFEST_SUFFIX } from './manifest.ts'
import { PARTIAL_SUFFIX, removeStaged } from './staged-files.ts'
import type { AcceptedFile, StagingArea, StagedRef } from './staging-area.ts'

// STAGING=s3: accepted files wait in a bucket, so API and worker machines share no disk. Each
// file is `<S3_PREFIX><upload id>`, its manifest travelling with it as the object's metadata (one
// PUT: bytes and manifest appear together), or, when it is too long for S3's 2 KB of metadata (a
// very long original name), as `<S3_PREFIX><upload id>.json`, written after the bytes. A worker
// downloads the bytes into its own STAGING_DIR (storage may read them more than once: Dropbox's
// chunked sessions, retries) and removes the objects once the record is written.

/** Smaller files go up in one streamed PUT; larger ones as a multipart upload of PART_BYTES parts. */
const MULTIPART_THRESHOLD_BYTES = 16 * 1024 * 1024
const PART_BYTES = 8 * 1024 * 1024
/** S3 allows 2 KB of user metadata per object; a longer manifest goes in an object of its own. */
const METADATA_MANIFEST_MAX = 1800
const MANIFEST_METADATA_KEY = 'manifest'

/** The client settings of every S3 client of the staging area (ours, and @tus/s3-store's). */
export function s3ClientConfig (settings: S3StagingSettings): S3ClientConfig {
  return {
    region: settings.region,
    ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    ...(settings.credentials === undefined ? {} : { credentials: settings.credentials }),
    forcePathStyle: settings.forcePathStyle,
    // Checksums only where S3 demands them (DeleteObjects): the SDK's default, a checksum trailer
    // on every upload (aws-chunked bodies), costs CPU per PUT and is not understood by every
    // S3-compatible server. The Dropbox content hash checks what is finally stored.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED'
  }
}

export function s3Client (settings: S3StagingSettings): S3Client {
  return new S3Client(s3ClientConfig(settings))
}

/** The bucket could not take an accepted file (S3 unreachable, or refusing): the client may retry. */
export class StagingUnavailableError extends Error {
  override name = 'StagingUnavailableError'
}

/** S3's "no such key / bucket", whichever way the server words it. */
export function isNotFound (err: unknown): boolean {
  return err instanceof S3ServiceException && (err.$metadata.httpStatusCode === 404 || err.name === 'NoSuchKey' || err.name === 'NotFound')
}

/** Creates the bucket when it does not exist (a new deployment, the embedded test server). */
export async function ensureBucket (client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }))
  } catch (err) {
    if (!isNotFound(err)) throw err
    await client.send(new CreateBucketCommand({ Bucket: bucket })).catch((created: unknown) => {
      // Another process made it meanwhile.
      if (!(created instanceof S3ServiceException && /BucketAlready/.test(created.name))) throw created
    })
  }
}

/**
 * Streams an object into `path` (through `<path>.partial`, renamed once whole); false when there
 * is no such object. With `contentHash` (Dropbox's, taken when the file was received) bytes that
 * changed on the way are refused, and the caller's retry fetches them again.
 */
export async function downloadObject (client: S3Client, bucket: string, key: string, path: string, contentHash?: string): Promise<boolean> {
  let body: Readable
  try {
    body = (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body as Readable
  } catch (err) {
    if (isNotFound(err)) return false
    throw err
  }
  const partial = path + PARTIAL_SUFFIX
  const hasher = new DropboxContentHasher()
  try {
    await pipeline(body, async function * (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        hasher.update(chunk)
        yield chunk
      }
    }, createWriteStream(partial))
    if (contentHash !== undefined && hasher.digest() !== contentHash) {
      throw new StagingUnavailableError(`S3 staging: the bytes of ${key} are not those received (content hash differs)`)
    }
    await rename(partial, path)
  } catch (err) {
    await rm(partial, { force: true })
    throw err
  }
  return true
}

export function s3Area (settings: S3StagingSettings, scratchDir: string, client = s3Client(settings)): StagingArea {
  const { bucket, prefix } = settings
  const urlPrefix = `s3://${bucket}/`
  const keyOf = (id: string): string => prefix + id
  /** The key a job names (keys under another prefix stay valid when S3_PREFIX changes). */
  const keyOfRef = (ref: StagedRef): string => ref.stagedPath.startsWith(urlPrefix) ? ref.stagedPath.slice(urlPrefix.length) : keyOf(ref.uploadId)
  const scratchOf = (id: string): string => join(scratchDir, id)

  async function put (key: string, localPath: string, size: number, metadata: Record<string, string>): Promise<void> {
    if (size < MULTIPART_THRESHOLD_BYTES) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: createReadStream(localPath), ContentLength: size, Metadata: metadata }))
      return
    }
    // One part in memory at a time: a large file costs PART_BYTES, whatever its size.
    await new Upload({ client, params: { Bucket: bucket, Key: key, Body: createReadStream(localPath), Metadata: metadata }, partSize: PART_BYTES, queueSize: 1, leavePartsOnError: false }).done()
  }

  /** The manifest kept with the bytes, or in its own object; undefined when neither holds one. */
  async function manifestOf (key: string): Promise<unknown> {
    try {
      const { Metadata } = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
      const inline = Metadata?.[MANIFEST_METADATA_KEY]
      if (inline !== undefined) return JSON.parse(Buffer.from(inline, 'base64url').toString('utf8'))
    } catch (err) {
      if (!isNotFound(err)) throw err
    }
    try {
      const { Body } = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key + MANIFEST_SUFFIX }))
      return JSON.parse(await Body!.transformToString('utf8'))
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw err
    }
  }

  /** One accepted file into the bucket: bytes with their manifest, or the manifest after them. */
  async function keepOne ({ uploadId, localPath, manifest }: AcceptedFile): Promise<void> {
    const { size } = await stat(localPath)
    const json = JSON.stringify(manifest)
    const inline = Buffer.from(json).toString('base64url')
    if (inline.length <= METADATA_MANIFEST_MAX) {
      await put(keyOf(uploadId), localPath, size, { [MANIFEST_METADATA_KEY]: inline })
    } else {
      await put(keyOf(uploadId), localPath, size, {})
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: keyOf(uploadId) + MANIFEST_SUFFIX, Body: json, ContentType: 'application/json' }))
    }
    await rm(localPath, { force: true })
  }

  async function deleteKeys (keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const { Errors } = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.slice(i, i + 1000).map(Key => ({ Key })), Quiet: true } }))
      if (Errors?.length) throw new Error(`S3 staging: could not delete ${Errors.map(e => `${e.Key} (${e.Code})`).join(', ')}`)
    }
  }

  return {
    kind: 's3',
    stagedPathOf: id => urlPrefix + keyOf(id),
    keep: async files => {
      try {
        await Promise.all(files.map(keepOne))
      } catch (err) {
        throw new StagingUnavailableError(`S3 staging: ${(err as Error).message}`, { cause: err })
      }
    },
    readManifest: id => manifestOf(keyOf(id)),
    localCopy: async ref => {
      const path = scratchOf(ref.uploadId)
      return await downloadObject(client, bucket, keyOfRef(ref), path, ref.contentHash) ? path : undefined
    },
    remove: async refs => {
      if (refs.length === 0) return
      await removeStaged(refs.map(r => scratchOf(r.uploadId)))
      await deleteKeys(refs.flatMap(r => [keyOfRef(r), keyOfRef(r) + MANIFEST_SUFFIX]))
    },
    entries: async function * () {
      let token: string | undefined
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }))
        for (const object of page.Contents ?? []) {
          const name = object.Key!.slice(prefix.length)
          // Only this area's own names: a deeper key is somebody else's (the resumable uploads').
          if (!name.includes('/')) yield { name, mtimeMs: object.LastModified?.getTime() ?? Date.now() }
        }
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined
      } while (token !== undefined)
    },
    removeEntry: name => deleteKeys([prefix + name]),
    abortAbandoned: olderThanMs => abortStaleUploads(client, settings, olderThanMs),
    check: async () => {
      await access(scratchDir, constants.W_OK)
      await client.send(new HeadBucketCommand({ Bucket: bucket }))
    },
    close: async () => { client.destroy() }
  }
}

/**
 * Aborts multipart uploads under the prefix started longer ago than `olderThanMs`: an API that
 * died while sending a large file leaves its parts, which S3 keeps (and bills) until aborted.
 */
export async function abortStaleUploads (client: S3Client, settings: S3StagingSettings, olderThanMs: number, now = Date.now()): Promise<number> {
  let aborted = 0
  let keyMarker: string | undefined
  let uploadIdMarker: string | undefined
  do {
    const page = await client.send(new ListMultipartUploadsCommand({ Bucket: settings.bucket, Prefix: settings.prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }))
    for (const upload of page.Uploads ?? []) {
      if (now - (upload.Initiated?.getTime() ?? now) < olderThanMs) continue
      await client.send(new AbortMultipartUploadCommand({ Bucket: settings.bucket, Key: upload.Key, UploadId: upload.UploadId }))
      aborted++
    }
    const more = page.IsTruncated === true
    keyMarker = more ? page.NextKeyMarker : undefined
    uploadIdMarker = more ? page.NextUploadIdMarker : undefined
  } while (keyMarker !== undefined)
  return aborted
}
