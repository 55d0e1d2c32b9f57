import t from 'tap'
import { sanitizeFileName, stampedFileName } from '../../src/uploads/file-name.ts'

t.test('the stamped name is YYYY-MM-DD_HH:MM:SS_<name> in UTC', async t => {
  t.equal(stampedFileName(new Date('2024-12-17T12:30:45.999Z'), 'image1.jpg'), '2024-12-17_12:30:45_image1.jpg')
  t.equal(stampedFileName(new Date('2025-01-02T03:04:05+02:00'), 'a.png'), '2025-01-02_01:04:05_a.png')
})

t.test('names are reduced to one safe component, extension kept', async t => {
  const cases: Array<[string | undefined, string]> = [
    ['image1.jpg', 'image1.jpg'],
    ['../../etc/passwd', 'passwd.jpg'],
    ['..\\..\\windows\\win.ini', 'win.ini'],
    ['C:\\photos\\me.JPG', 'me.JPG'],
    ['a\u0000b\u0007c.jpg', 'abc.jpg'],
    ['....', 'image.jpg'],
    ['.', 'image.jpg'],
    ['', 'image.jpg'],
    [undefined, 'image.jpg'],
    ['.bashrc', 'bashrc.jpg'],
    ['trailing. . .', 'trailing.jpg'],
    ['photo .png', 'photo.png'],
    ['what?*:<>|"is.png', 'whatis.png'],
    ['noext', 'noext.jpg'],
    ['e\u0301te\u0301.jpg', 'été.jpg']
  ]
  for (const [input, expected] of cases) t.equal(sanitizeFileName(input, '.jpg'), expected, JSON.stringify(input))
})

t.test('long names are cut, keeping the extension, and never beyond 200 characters', async t => {
  const name = sanitizeFileName(`${'x'.repeat(500)}.jpeg`, '.jpg')
  t.equal(name.length, 200)
  t.ok(name.endsWith('x.jpeg'))
  const emoji = sanitizeFileName(`${'😀'.repeat(300)}.png`, '.jpg')
  t.ok([...emoji].length <= 200)
  t.ok(emoji.endsWith('.png'))
  t.notMatch(emoji, /\uFFFD/, 'no broken surrogate pairs')
  t.equal(sanitizeFileName(`a.${'e'.repeat(40)}`, '.jpg'), `a.${'e'.repeat(40)}.jpg`, 'an absurd extension is not kept as one')
})
