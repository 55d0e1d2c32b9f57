import { createHmac } from 'node:crypto'
import t from 'tap'
import { appImageAt, phoneFolderOf } from '../../src/core/app-folder.ts'
import { imageTypeOfName } from '../../src/core/image-type.ts'
import { isValidDropboxSignature } from '../../src/core/webhook-signature.ts'

t.test('the app\'s images: directly in a canonical phone-number folder, with an image\'s extension', async t => {
  t.match(appImageAt('/1234567890/a.jpg'), { phoneNumber: '1234567890', fileName: 'a.jpg', type: { mime: 'image/jpeg' } })
  t.match(appImageAt('/1/2024-12-17_12:30:45_b (1).PNG'), { phoneNumber: '1', type: { mime: 'image/png' } })
  t.match(appImageAt('/5551234567/x.heic'), { type: { mime: 'image/heic' } })
  t.match(appImageAt('/5551234567/x.HEIF'), { type: { mime: 'image/heif' } })
  t.match(appImageAt('/5551234567/x.jfif'), { type: { mime: 'image/jpeg' } })
  for (const path of [
    '/1234567890/notes.txt', // not an image
    '/1234567890/jpg', // no extension
    '/1234567890/.jpg', // only an extension
    '/holiday/a.jpg', // not a number
    '/+1234567890/a.jpg', // a number, not in canonical form
    '/123-456/a.jpg',
    '/1234567890123456/a.jpg', // 16 digits
    '/1234567890/sub/a.jpg', // deeper
    '/a.jpg', // the root
    '1234567890/a.jpg' // not absolute
  ]) t.equal(appImageAt(path), undefined, path)
})

t.test('the phone folder a deleted path is or lies in', async t => {
  t.equal(phoneFolderOf('/123'), '123')
  t.equal(phoneFolderOf('/123/a.jpg'), '123')
  t.equal(phoneFolderOf('/abc/a.jpg'), undefined)
  t.equal(phoneFolderOf('/'), undefined)
})

t.test('image types by name', async t => {
  t.equal(imageTypeOfName('a.TIF')?.mime, 'image/tiff')
  t.equal(imageTypeOfName('a.avif')?.mime, 'image/avif')
  t.equal(imageTypeOfName('a.svg'), undefined)
})

t.test('Dropbox webhook signatures', async t => {
  const body = Buffer.from('{"list_folder":{"accounts":["dbid:x"]}}')
  const good = createHmac('sha256', 'secret').update(body).digest('hex')
  t.equal(isValidDropboxSignature(body, good, 'secret'), true)
  t.equal(isValidDropboxSignature(body, good.toUpperCase(), 'secret'), true, 'hex in any case')
  t.equal(isValidDropboxSignature(body, good, 'other'), false)
  t.equal(isValidDropboxSignature(Buffer.from(`${body} `), good, 'secret'), false)
  t.equal(isValidDropboxSignature(body, undefined, 'secret'), false)
  t.equal(isValidDropboxSignature(body, [good], 'secret'), false, 'a repeated header is not a signature')
  t.equal(isValidDropboxSignature(body, good.slice(2), 'secret'), false)
})
