import t from 'tap'
import { toRawUrl } from '../../../src/storage/dropbox/raw-url.ts'

t.test('current links keep rlkey and st; dl is replaced by raw=1', async t => {
  const raw = new URL(toRawUrl('https://www.dropbox.com/scl/fi/abc123/2024-12-17_12%3A30%3A45_image1.jpg?rlkey=k3y&st=t0k&dl=0'))
  t.equal(raw.origin + raw.pathname, 'https://www.dropbox.com/scl/fi/abc123/2024-12-17_12%3A30%3A45_image1.jpg')
  t.equal(raw.searchParams.get('rlkey'), 'k3y')
  t.equal(raw.searchParams.get('st'), 't0k')
  t.equal(raw.searchParams.get('raw'), '1')
  t.notOk(raw.searchParams.has('dl'))
})

t.test('older /s/ links, and links without dl', async t => {
  t.equal(toRawUrl('https://www.dropbox.com/s/abcdefg/image1.jpg?dl=0'), 'https://www.dropbox.com/s/abcdefg/image1.jpg?raw=1')
  t.equal(toRawUrl('https://www.dropbox.com/s/abcdefg/image1.jpg'), 'https://www.dropbox.com/s/abcdefg/image1.jpg?raw=1')
  t.equal(toRawUrl('https://www.dropbox.com/s/abcdefg/image1.jpg?dl=1&raw=0'), 'https://www.dropbox.com/s/abcdefg/image1.jpg?raw=1')
})
