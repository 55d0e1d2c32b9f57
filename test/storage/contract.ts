// The behaviour every Storage backend owes its callers (src/storage/storage.ts), as one suite run
// against each backend, the way tus-node-server tests its stores: a new backend passes this file
// to get the whole contract for free. What only some backends can show (a name they refuse, a
// server that fails or throttles) is optional in the subject; a backend without it skips those
// tests, with the reason in the output.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { DropboxContentHasher } from '../../src/core/content-hash.ts'
import { VARIANTS_ROOT } from '../../src/core/image-variants.ts'
import { StoragePermanentError, StorageRateLimitError, StorageTransientError } from '../../src/storage/errors.ts'
import { numberedName, type FileToStore, type Storage } from '../../src/storage/storage.ts'
import { randomPng } from '../helpers/images.ts'

/** A fault the test switches on and off on the backend's side. */
export interface FaultSwitch {
  on (): void | Promise<void>
  off (): void | Promise<void>
}

/** One backend under test, fresh for every test of the contract (makeStorage is called per test). */
export interface ContractSubject {
  storage: Storage
  /** The bytes at a storage path, read behind the backend's back; undefined when nothing is there. */
  readBack (path: string): Promise<Buffer | undefined>
  /** The names of the files in a folder, read behind the backend's back. */
  list (folder: string): Promise<string[]>
  /** What changes whenever the file at a path is written (a revision, an inode and mtime). */
  revision (path: string): Promise<string>
  /** Fetches a URL from publicUrl() as an embedding client would (following redirects). */
  download (url: string): Promise<{ status: number, body: Buffer }>
  /** Puts other bytes at a storage path behind the backend's back (someone edits the file). */
  replaceBehind (path: string, bytes: Buffer): Promise<void>
  /** The error class remove() throws for a path that leaves the storage root. */
  escapeRefusal: new (...args: never[]) => Error
  /** A file name the backend refuses whatever the retry: put must fail with StoragePermanentError. */
  refusedName?: string
  /** While on, every call to the backend's server fails with a server error (5xx). */
  serverErrors?: FaultSwitch
  /** While on, the backend's server answers writes with "wait retryAfterMs, then retry" (429). */
  rateLimit?: FaultSwitch & { retryAfterMs: number }
}

export type MakeStorage = (t: Test) => Promise<ContractSubject>

const FOLDER = '5551234567'
// As the service names files: a timestamp (':' in it) before the client's name (a space in it).
const NAME = '2024-12-17_12:30:45_a b.jpg'

/** Staged files on local disk, as the worker hands them to put(). */
async function stager (t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'storage-contract-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  let n = 0
  return async (content: Buffer, { folder = FOLDER, name = NAME } = {}): Promise<FileToStore> => {
    const stagedPath = join(dir, `staged-${n++}`)
    await writeFile(stagedPath, content)
    return { stagedPath, folder, name, size: content.length, contentHash: hashOf(content) }
  }
}

const hashOf = (content: Buffer) => new DropboxContentHasher().update(content).digest()

/** The error a promise rejects with; fails the test when it resolves instead. */
async function rejection (t: Test, promise: Promise<unknown>, what: string): Promise<unknown> {
  try {
    const value = await promise
    t.fail(`${what}: expected a rejection, got ${JSON.stringify(value)}`)
    return undefined
  } catch (err) {
    return err
  }
}

export function storageContract (t: Test, name: string, makeStorage: MakeStorage): void {
  /** A fresh backend and stager for one test; the storage is closed at its end. */
  async function setup (t: Test) {
    const subject = await makeStorage(t)
    t.teardown(() => subject.storage.close())
    return { ...subject, stage: await stager(t) }
  }

  t.test(`${name}: put stores the bytes at /<folder>/<name> and says where`, async t => {
    const { storage, readBack, list, stage } = await setup(t)
    const bytes = randomPng()
    const file = await stage(bytes)
    const stored = await storage.put(file)
    const { id, ...where } = stored
    t.same(where, { path: `/${FOLDER}/${NAME}`, name: NAME, size: bytes.length, contentHash: file.contentHash })
    // A backend with ids of its own (Dropbox) says which; the others leave it out.
    if (id !== undefined) t.match(id, /^\S+$/, 'the backend\'s id of the file')
    t.same(await readBack(stored.path), bytes, 'the stored bytes are the staged bytes')
    t.same(await list(FOLDER), [NAME], 'one file in the folder')

    // Folders are separate: the same name elsewhere is no conflict.
    const elsewhere = await storage.put(await stage(randomPng(), { folder: '42' }))
    t.equal(elsewhere.path, `/42/${NAME}`, 'another folder, the name as asked')
    t.same(await list(FOLDER), [NAME], 'the first folder untouched')
  })

  t.test(`${name}: a repeat put of the same bytes (a retry) writes nothing and returns the same file`, async t => {
    const { storage, readBack, list, revision, stage } = await setup(t)
    const bytes = randomPng()
    const first = await storage.put(await stage(bytes))
    const written = await revision(first.path)
    const again = await storage.put(await stage(bytes))
    t.same(again, first, 'the same location')
    t.equal(await revision(first.path), written, 'the file was not written again')
    t.same(await list(FOLDER), [NAME], 'no second file')
    t.same(await readBack(first.path), bytes)

    // Two attempts of one job racing each other end in one file too.
    const racing = randomPng()
    const both = await Promise.all([storage.put(await stage(racing, { name: 'race.png' })), storage.put(await stage(racing, { name: 'race.png' }))])
    t.same(both[1], both[0], 'concurrent identical puts: the same location')
    t.same((await list(FOLDER)).sort(), [NAME, 'race.png'].sort(), 'and one file')
  })

  t.test(`${name}: different bytes at a taken name are kept both, the new ones numbered`, async t => {
    const { storage, readBack, list, stage } = await setup(t)
    const [a, b, c] = [randomPng(), randomPng(), randomPng()] as const
    const first = await storage.put(await stage(a))
    const second = await storage.put(await stage(b))
    const third = await storage.put(await stage(c))
    t.same({ ...second, id: undefined }, { path: `/${FOLDER}/${numberedName(NAME, 1)}`, name: numberedName(NAME, 1), size: b.length, contentHash: hashOf(b), id: undefined })
    if (second.id !== undefined) t.not(second.id, first.id, 'another file, another id')
    t.equal(third.name, numberedName(NAME, 2))
    t.equal(third.path, `/${FOLDER}/${numberedName(NAME, 2)}`)
    t.same(await readBack(first.path), a, 'the first file is not replaced')
    t.same(await readBack(second.path), b)
    t.same(await readBack(third.path), c)

    // A retry of a renamed file finds it where it went, and a retry of the first stays put.
    t.same(await storage.put(await stage(b)), second, 'retry of the renamed file: its numbered name')
    t.same(await storage.put(await stage(a)), first, 'retry of the first file: its own name')
    t.same((await list(FOLDER)).sort(), [NAME, numberedName(NAME, 1), numberedName(NAME, 2)].sort(), 'three files, no more')

    // A name without an extension is numbered at its end.
    await storage.put(await stage(randomPng(), { name: 'plain' }))
    const plain = await storage.put(await stage(randomPng(), { name: 'plain' }))
    t.equal(plain.name, 'plain (1)')
  })

  t.test(`${name}: different bytes put at once at the same name are kept both`, async t => {
    const { storage, readBack, list, stage } = await setup(t)
    const [a, b] = [randomPng(), randomPng()] as const
    const [first, second] = await Promise.all([storage.put(await stage(a)), storage.put(await stage(b))])
    t.same([first.name, second.name].sort(), [NAME, numberedName(NAME, 1)].sort(), 'one got the name, the other the first number')
    t.same(await readBack(first.path), a)
    t.same(await readBack(second.path), b)
    t.same((await list(FOLDER)).sort(), [NAME, numberedName(NAME, 1)].sort())
  })

  t.test(`${name}: holds is true exactly while the path holds those bytes`, async t => {
    const { storage, replaceBehind, stage } = await setup(t)
    const stored = await storage.put(await stage(randomPng()))
    t.equal(await storage.holds(stored), true, 'just stored')
    t.equal(await storage.holds({ ...stored, contentHash: hashOf(randomPng()) }), false, 'other content expected at that path')
    t.equal(await storage.holds({ ...stored, path: `/${FOLDER}/never-stored.jpg`, name: 'never-stored.jpg' }), false, 'nothing at that path')

    const edited = await storage.put(await stage(randomPng(), { name: 'edited.png' }))
    t.equal(await storage.holds(edited), true)
    await replaceBehind(edited.path, randomPng())
    t.equal(await storage.holds(edited), false, 'the bytes were replaced behind its back')

    t.equal(await storage.remove(stored.path), true)
    t.equal(await storage.holds(stored), false, 'removed')
  })

  t.test(`${name}: publicUrl serves exactly the stored bytes, while they are stored`, async t => {
    const { storage, download, stage } = await setup(t)
    const [a, b] = [randomPng(), randomPng()] as const
    const first = await storage.put(await stage(a))
    const renamed = await storage.put(await stage(b))
    const url = await storage.publicUrl(first)
    t.ok(URL.canParse(url) && /^https?:$/.test(new URL(url).protocol), `an http(s) URL: ${url}`)
    t.equal(await storage.publicUrl(first), url, 'asked again: the same URL (clients embed it)')

    const served = await download(url)
    t.equal(served.status, 200)
    t.same(served.body, a, 'the bytes behind the URL')
    const renamedUrl = await storage.publicUrl(renamed)
    t.not(renamedUrl, url, 'each file its own URL')
    t.same((await download(renamedUrl)).body, b, 'the renamed file serves its own bytes')

    t.equal(await storage.remove(renamed.path), true)
    t.equal((await download(renamedUrl)).status, 404, 'a removed file is no longer served')
    t.same((await download(url)).body, a, 'the other file still is')
  })

  t.test(`${name}: remove says whether there was a file, and removes only that`, async t => {
    const { storage, readBack, list, stage } = await setup(t)
    const a = randomPng()
    const kept = await storage.put(await stage(a))
    const removed = await storage.put(await stage(randomPng()))
    t.equal(await storage.remove(removed.path), true, 'there was a file')
    t.equal(await readBack(removed.path), undefined, 'it is gone')
    t.equal(await storage.remove(removed.path), false, 'already gone')
    t.equal(await storage.remove(`/${FOLDER}/never-stored.jpg`), false, 'never there')
    t.same(await readBack(kept.path), a, 'the other file is untouched')
    t.same(await list(FOLDER), [NAME])
  })

  t.test(`${name}: remove refuses paths that leave the storage root`, async t => {
    const { storage, readBack, escapeRefusal, stage } = await setup(t)
    const bytes = randomPng()
    const stored = await storage.put(await stage(bytes))
    // The first names the stored file by a detour: refused all the same, and nothing removed.
    for (const path of [`/${FOLDER}/../${FOLDER}/${NAME}`, '/..', '/../../etc/passwd', `/${FOLDER}/../../x`]) {
      const err = await rejection(t, storage.remove(path), path)
      t.type(err, escapeRefusal, `${path}: refused with ${escapeRefusal.name}`)
    }
    t.same(await readBack(stored.path), bytes, 'the file is still there')
  })

  t.test(`${name}: successMessage names the file`, async t => {
    const { storage } = await setup(t)
    t.match(storage.successMessage('photo 1.jpg'), /'photo 1\.jpg'/)
  })

  t.test(`${name}: a name the backend refuses is a StoragePermanentError, and nothing is stored`, async t => {
    const { storage, list, refusedName, stage } = await setup(t)
    if (refusedName === undefined) return t.skip(`${name} refuses no name`, () => {})
    await storage.put(await stage(randomPng()))
    const err = await rejection(t, storage.put(await stage(randomPng(), { name: refusedName })), refusedName)
    t.type(err, StoragePermanentError)
    t.same(await list(FOLDER), [NAME], 'only the file stored before')
  })

  t.test(`${name}: server errors are StorageTransientError; once they stop, all is as before`, async t => {
    const { storage, readBack, serverErrors, stage } = await setup(t)
    if (!serverErrors) return t.skip(`${name} has no server that can fail`, () => {})
    const bytes = randomPng()
    const stored = await storage.put(await stage(bytes))
    await serverErrors.on()
    t.type(await rejection(t, storage.holds(stored), 'holds'), StorageTransientError, 'holds')
    t.type(await rejection(t, storage.remove(stored.path), 'remove'), StorageTransientError, 'remove')
    await serverErrors.off()
    t.same(await readBack(stored.path), bytes, 'the file survived the failed remove')
    t.equal(await storage.holds(stored), true, 'holds works again')
    t.equal(await storage.remove(stored.path), true, 'remove works again')
  })

  t.test(`${name}: a rate limit is a StorageRateLimitError carrying the wait`, async t => {
    const { storage, readBack, rateLimit, stage } = await setup(t)
    if (!rateLimit) return t.skip(`${name} has no server that can rate-limit`, () => {})
    const bytes = randomPng()
    const stored = await storage.put(await stage(bytes))
    await rateLimit.on()
    const err = await rejection(t, storage.remove(stored.path), 'remove')
    t.type(err, StorageRateLimitError)
    t.equal((err as StorageRateLimitError | undefined)?.retryAfterMs, rateLimit.retryAfterMs, 'the wait the server asked for')
    await rateLimit.off()
    t.same(await readBack(stored.path), bytes, 'nothing was removed meanwhile')
    t.equal(await storage.remove(stored.path), true, 'remove works again')
  })

  t.test(`${name}: read streams the stored bytes, or one range of them; nothing where nothing is`, async t => {
    const { storage, stage } = await setup(t)
    const bytes = randomPng(20_000)
    const stored = await storage.put(await stage(bytes))
    const whole = await storage.read(stored.path)
    t.ok(whole, 'the file is there')
    t.equal(whole?.size, bytes.length, 'its size')
    t.equal(whole?.range, undefined, 'all of it')
    t.same(await drained(whole?.body), bytes, 'the stored bytes')

    const part = await storage.read(stored.path, { start: 100, end: 4195 })
    t.same(part?.range, { start: 100, end: 4195 })
    t.equal(part?.size, bytes.length, 'the size is the whole file\'s')
    t.same(await drained(part?.body), bytes.subarray(100, 4196), 'bytes 100 to 4195, both included')
    const last = await storage.read(stored.path, { start: bytes.length - 1, end: bytes.length - 1 })
    t.same(await drained(last?.body), bytes.subarray(-1), 'the last byte alone')

    t.equal(await storage.read(`/${FOLDER}/never-stored.jpg`), undefined, 'never stored')
    await storage.remove(stored.path)
    t.equal(await storage.read(stored.path), undefined, 'removed')
  })

  t.test(`${name}: write puts derived bytes at exactly their path, replacing them; remove takes their folder whole`, async t => {
    const { storage, list, readBack, stage } = await setup(t)
    const folder = `/${VARIANTS_ROOT}/6761a2f5c3b1e24d8f0a9b7c`
    const [a, b, thumb] = [randomPng(), randomPng(), randomPng(500)] as const
    const written = await storage.write(`${folder}/display.jpg`, a)
    t.same(written, { path: `${folder}/display.jpg`, size: a.length, contentHash: hashOf(a) })
    t.same(await readBack(`${folder}/display.jpg`), a)
    t.same(await storage.write(`${folder}/display.jpg`, a), written, 'the same bytes again: the same file')
    const replaced = await storage.write(`${folder}/display.jpg`, b)
    t.equal(replaced.path, `${folder}/display.jpg`, 'other bytes: replaced, never renamed')
    t.same(await drained((await storage.read(`${folder}/display.jpg`))?.body), b, 'read gives the new bytes')
    await storage.write(`${folder}/thumbnail.webp`, thumb)
    t.same((await list(folder.slice(1))).sort(), ['display.jpg', 'thumbnail.webp'])

    // The image's own file, elsewhere, is not touched by any of it.
    const original = await storage.put(await stage(randomPng()))
    t.equal(await storage.remove(folder), true, 'the folder and everything in it')
    t.equal(await readBack(`${folder}/display.jpg`), undefined)
    t.equal(await storage.read(`${folder}/thumbnail.webp`), undefined)
    t.equal(await storage.remove(folder), false, 'already gone')
    t.ok(await storage.holds(original), 'the original is still there')
  })
}

/** Everything a stream gives, or undefined without one. */
async function drained (body: NodeJS.ReadableStream | undefined): Promise<Buffer | undefined> {
  if (!body) return undefined
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(Buffer.from(chunk as Buffer))
  return Buffer.concat(chunks)
}
