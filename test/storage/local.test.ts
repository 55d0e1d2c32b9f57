import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
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

t.test('put is idempotent for the same bytes and keeps both files for different bytes', async t => {
  const { root, storage, staged } = await setup(t)
  const a = randomPng()
  const first = await storage.put(await staged(a))
  const again = await storage.put(await staged(a))
  t.same(again, first, 'the same bytes again: the same file')
  const other = await storage.put(await staged(randomPng(), 'other'))
  t.equal(other.name, '2024-12-17_12:30:45_a b (1).jpg')
  t.same((await readdir(join(root, 'files/123'))).sort(), ['2024-12-17_12:30:45_a b (1).jpg', '2024-12-17_12:30:45_a b.jpg'])
  t.same(await readFile(join(root, 'files/123', first.name)), a)
  t.equal(await storage.publicUrl(first), 'https://img.example.com/files/123/2024-12-17_12%3A30%3A45_a%20b.jpg')
})

t.test('remove reports whether there was a file, and refuses paths outside the root', async t => {
  const { storage, staged } = await setup(t)
  const stored = await storage.put(await staged(randomPng()))
  t.equal(await storage.remove(stored.path), true)
  t.equal(await storage.remove(stored.path), false)
  for (const path of ['/../../etc/passwd', '/123/../../x', '/a/b/c', '/..']) {
    await t.rejects(storage.remove(path), /bad storage path/, path)
  }
})
