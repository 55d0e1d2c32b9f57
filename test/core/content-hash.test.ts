import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import { DropboxContentHasher } from '../../src/core/content-hash.ts'

const MiB = 1024 * 1024

// The algorithm written out the slow, obvious way, to check the streaming one against.
function reference (data: Buffer): string {
  const blocks = []
  for (let i = 0; i < data.length; i += 4 * MiB) blocks.push(createHash('sha256').update(data.subarray(i, i + 4 * MiB)).digest())
  return createHash('sha256').update(Buffer.concat(blocks)).digest('hex')
}

t.test('matches Dropbox\'s algorithm whatever the chunking', async t => {
  const data = randomBytes(9 * MiB + 123)
  for (const chunkSize of [1, 1000, 64 * 1024, 4 * MiB, 4 * MiB + 1, data.length]) {
    const hasher = new DropboxContentHasher()
    const step = chunkSize === 1 ? 4093 : chunkSize // byte-at-a-time would take long; a prime stride instead
    for (let i = 0; i < data.length; i += step) hasher.update(data.subarray(i, i + step))
    t.equal(hasher.digest(), reference(data), `chunks of ${step}`)
  }
})

t.test('the empty input and an exact block boundary', async t => {
  t.equal(new DropboxContentHasher().digest(), createHash('sha256').update(Buffer.alloc(0)).digest('hex'))
  const block = randomBytes(4 * MiB)
  t.equal(new DropboxContentHasher().update(block).digest(), reference(block))
})
