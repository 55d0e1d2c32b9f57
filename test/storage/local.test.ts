// What only LocalStorage does. The Storage interface's behaviour (put, retries, numbered names,
// holds, publicUrl serving the bytes, remove) is checked for every backend by contract.ts, run
// against local storage by local-contract.test.ts.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { LocalStorage } from '../../src/storage/local.ts'
import { DropboxContentHasher } from '../../src/core/content-hash.ts'
import { randomPng } from '../helpers/images.ts'

async function setup (t: { teardown: (fn: () => unknown) => void }) {
  const root = await mkdtemp(join(tmpdir(), 'local-storage-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  const storage = new LocalStorage(join(root, 'files'), 'https://img.example.com')
  const staged = async (content: Buffer, name = 'staged') => {
    const stagedPath = join(root, name)
    await writeFile(stagedPath, content)
    return { stagedPath, folder: '123', name: '2024-12-17_12:30:45_a b.jpg', size: content.length, contentHash: new DropboxContentHasher().update(content).digest() }
  }
  return { root, storage, staged }
}

t.test('publicUrl is PUBLIC_BASE_URL/files/<folder>/<name>, each part percent-encoded', async t => {
  const { storage, staged } = await setup(t)
  const first = await storage.put(await staged(randomPng()))
  t.equal(await storage.publicUrl(first), 'https://img.example.com/files/123/2024-12-17_12%3A30%3A45_a%20b.jpg')
})

t.test('remove refuses any path other than /<folder>/<name>', async t => {
  const { storage } = await setup(t)
  for (const path of ['/a/b/c', '/a', '/', '/./x', '/../../etc/passwd']) {
    await t.rejects(storage.remove(path), /bad storage path/, path)
  }
})
