import t from 'tap'
import { sanitizeFileName, stampedFileName } from '../../src/core/file-name.ts'
import { sniffImageType } from '../../src/core/image-type.ts'
import { fakeJpeg, randomPng } from '../helpers/images.ts'

const JPEG = sniffImageType(fakeJpeg(32))!
const PNG = sniffImageType(randomPng(32))!

t.test('the stamped name is YYYY-MM-DD_HH:MM:SS_<name> in UTC', async t => {
  t.equal(stampedFileName(new Date('2024-12-17T12:30:45.999Z'), 'image1.jpg'), '2024-12-17_12:30:45_image1.jpg')
  t.equal(stampedFileName(new Date('2025-01-02T03:04:05+02:00'), 'a.png'), '2025-01-02_01:04:05_a.png')
})

t.test('names are reduced to one safe component', async t => {
  const cases: Array<[string | undefined, string]> = [
    ['image1.jpg', 'image1.jpg'],
    ['IMG_0001.JPEG', 'IMG_0001.JPEG'],
    ['../../etc/passwd', 'passwd.jpg'],
    ['..\\..\\windows\\photo.jpg', 'photo.jpg'],
    ['C:\\photos\\me.JPG', 'me.JPG'],
    ['a\u0000b\u0007c.jpg', 'abc.jpg'],
    ['....', 'image.jpg'],
    ['.', 'image.jpg'],
    ['', 'image.jpg'],
    [undefined, 'image.jpg'],
    ['.bashrc', 'bashrc.jpg'],
    ['trailing. . .', 'trailing.jpg'],
    ['photo .jpeg', 'photo.jpeg'],
    ['what?*:<>|"is.jpg', 'whatis.jpg'],
    ['noext', 'noext.jpg'],
    ['e\u0301te\u0301.jpg', 'été.jpg']
  ]
  for (const [input, expected] of cases) t.equal(sanitizeFileName(input, JPEG), expected, JSON.stringify(input))
})

t.test('an extension that does not name the sniffed type is replaced by the type\'s own', async t => {
  t.equal(sanitizeFileName('evil.html', PNG), 'evil.png')
  t.equal(sanitizeFileName('evil.svg', PNG), 'evil.png')
  t.equal(sanitizeFileName('photo.jpg', PNG), 'photo.png', 'a mislabelled photo gets its true type')
  t.equal(sanitizeFileName('notes.from.the.meeting.for.everyone', PNG), 'notes.from.the.meeting.for.png')
  t.equal(sanitizeFileName(`a.${'e'.repeat(40)}`, JPEG), `a.${'e'.repeat(40)}.jpg`, 'an absurd extension is part of the name')
})

t.test('long names are cut, keeping the extension, and never beyond 200 characters', async t => {
  const name = sanitizeFileName(`${'x'.repeat(500)}.jpeg`, JPEG)
  t.equal(name.length, 200)
  t.ok(name.endsWith('x.jpeg'))
  const emoji = sanitizeFileName(`${'😀'.repeat(300)}.png`, PNG)
  t.ok([...emoji].length <= 200)
  t.ok(emoji.endsWith('.png'))
  t.notMatch(emoji, /\uFFFD/, 'no broken surrogate pairs')
})
