// The emulator's files/download honours one HTTP range, as Dropbox's content-download routes do:
// what DropboxStorage.read relies on to serve a Range of an image without fetching all of it.
import t from 'tap'
import { dropboxEmulator } from '../helpers/dropbox.ts'

t.test('files/download: 206 with a range, 416 past the end, 200 without', async t => {
  const { emulator } = await dropboxEmulator(t)
  await emulator.addFile('/1/a.bin', Buffer.from('0123456789'))
  const token = await fetch(`${emulator.url}/oauth2/token?${new URLSearchParams({ grant_type: 'refresh_token', refresh_token: emulator.refreshToken, client_id: emulator.appKey, client_secret: emulator.appSecret })}`, { method: 'POST' })
  const { access_token: accessToken } = await token.json() as { access_token: string }
  const download = (range?: string) => fetch(`${emulator.url}/2/files/download`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${accessToken}`, 'Dropbox-API-Arg': JSON.stringify({ path: '/1/a.bin' }), ...(range ? { Range: range } : {}) }
  })
  const cases: Array<[string | undefined, number, string | null, string]> = [
    ['bytes=2-5', 206, 'bytes 2-5/10', '2345'],
    ['bytes=-3', 206, 'bytes 7-9/10', '789'],
    ['bytes=8-', 206, 'bytes 8-9/10', '89'],
    ['bytes=4-100', 206, 'bytes 4-9/10', '456789'],
    ['bytes=0-1,4-5', 200, null, '0123456789'],
    [undefined, 200, null, '0123456789']
  ]
  for (const [range, status, contentRange, body] of cases) {
    const res = await download(range)
    t.equal(res.status, status, `${range}: ${status}`)
    t.equal(res.headers.get('content-range'), contentRange)
    t.equal(await res.text(), body)
  }
  const past = await download('bytes=20-')
  t.equal(past.status, 416)
  t.equal(past.headers.get('content-range'), 'bytes */10')
  await past.body?.cancel()
})
