import t from 'tap'
import { sniffImageType } from '../../src/core/image-type.ts'
import { fakeJpeg, randomPng } from '../helpers/images.ts'

const ascii = (s: string): Buffer => Buffer.from(s, 'latin1')
const pad = (head: Buffer): Buffer => Buffer.concat([head, Buffer.alloc(16)])

t.test('image formats are recognised by their bytes', async t => {
  t.match(sniffImageType(fakeJpeg(64)), { mime: 'image/jpeg', ext: '.jpg' })
  t.match(sniffImageType(randomPng(64)), { mime: 'image/png', ext: '.png' })
  t.equal(sniffImageType(pad(ascii('GIF89a')))?.mime, 'image/gif')
  t.equal(sniffImageType(pad(ascii('GIF87a')))?.mime, 'image/gif')
  t.equal(sniffImageType(pad(Buffer.concat([ascii('RIFF'), Buffer.from([1, 2, 3, 4]), ascii('WEBPVP8 ')])))?.mime, 'image/webp')
  t.equal(sniffImageType(pad(ascii('BM')))?.mime, 'image/bmp')
  t.equal(sniffImageType(pad(Buffer.from([0x49, 0x49, 0x2a, 0x00])))?.mime, 'image/tiff')
  t.equal(sniffImageType(pad(Buffer.from([0x4d, 0x4d, 0x00, 0x2a])))?.mime, 'image/tiff')
  t.equal(sniffImageType(pad(Buffer.concat([Buffer.from([0, 0, 0, 24]), ascii('ftypheic')])))?.mime, 'image/heic')
  t.equal(sniffImageType(pad(Buffer.concat([Buffer.from([0, 0, 0, 24]), ascii('ftypavif')])))?.mime, 'image/avif')
})

t.test('other bytes are not images, whatever they are called', async t => {
  for (const head of ['%PDF-1.7', 'PK\u0003\u0004', '<html><body>', '{"json":true}', 'RIFF1234WAVEfmt ']) {
    t.equal(sniffImageType(pad(ascii(head))), undefined, head)
  }
  t.equal(sniffImageType(pad(Buffer.concat([Buffer.from([0, 0, 0, 24]), ascii('ftypisom')]))), undefined, 'an MP4 is not an image')
  t.equal(sniffImageType(Buffer.alloc(0)), undefined)
})
