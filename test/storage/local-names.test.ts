// A name the file system refuses is a refusal for good (StoragePermanentError: the job fails at
// once with the reason), never an error the worker retries for minutes.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { DropboxContentHasher } from '../../src/core/content-hash.ts'
import { StoragePermanentError } from '../../src/storage/errors.ts'
import { LocalStorage } from '../../src/storage/local.ts'
import { randomPng } from '../helpers/images.ts'

t.test('a name over 255 bytes is refused for good, not retried', async t => {
  const root = await mkdtemp(join(tmpdir(), 'local-names-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  const storage = new LocalStorage(join(root, 'files'), 'https://img.example.com')
  const content = randomPng()
  const stagedPath = join(root, 'staged')
  await writeFile(stagedPath, content)
  const file = { stagedPath, folder: '123', size: content.length, contentHash: new DropboxContentHasher().update(content).digest() }

  // 200 emoji: 200 characters, 800 bytes.
  const err = await storage.put({ ...file, name: `2024-12-17_12:30:45_${'😀'.repeat(200)}.png` }).catch((e: unknown) => e)
  t.ok(err instanceof StoragePermanentError, 'a StoragePermanentError')
  t.match((err as Error).message, /refused the name .*ENAMETOOLONG/)

  const stored = await storage.put({ ...file, name: `2024-12-17_12:30:45_${'😀'.repeat(49)}.png` })
  t.equal(Buffer.byteLength(stored.name), 20 + 196 + 4, 'a name of 220 bytes is stored')
})

t.test('the readiness check passes on a writable root, creating it', async t => {
  const root = await mkdtemp(join(tmpdir(), 'local-ready-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  await t.resolves(new LocalStorage(join(root, 'not-yet', 'files'), 'https://img.example.com').checkReady())
})
