import t from 'tap'
import { cutToBytes, MAX_COMPONENT_BYTES, MAX_NAME_BYTES, sanitizeFileName, STAMP_BYTES, stampedFileName } from '../../src/core/file-name.ts'
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

const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8')
const graphemes = (s: string): string[] => [...new Intl.Segmenter('en', { granularity: 'grapheme' }).segment(s)].map(g => g.segment)

t.test('names are bounded in bytes, not characters: the stamped name and a " (n)" fit 255 bytes', async t => {
  const names = [
    `${'x'.repeat(500)}.jpeg`,
    `${'😀'.repeat(300)}.png`,
    `${'漢'.repeat(90)}.png`,
    `${'ب'.repeat(300)}.png`,
    `${'👨‍👩‍👧‍👦'.repeat(40)}.png`,
    `${'q\u0323\u0307'.repeat(100)}.png`,
    `${'x'.repeat(195)}${'é'.repeat(10)}.png`,
    `${'\u{10348}'.repeat(100)}.png`,
    'n'.repeat(16_000)
  ]
  for (const original of names) {
    const name = sanitizeFileName(original, PNG)
    t.ok(utf8(name) <= MAX_NAME_BYTES, `${utf8(name)} bytes <= ${MAX_NAME_BYTES}: ${original.slice(0, 12)}`)
    const stored = stampedFileName(new Date(), name)
    t.equal(utf8(stored), STAMP_BYTES + utf8(name))
    t.ok(utf8(`${stored} (99999)`) <= MAX_COMPONENT_BYTES, 'room left for a numbered rename')
    t.notMatch(name, /\uFFFD/, 'no broken characters')
    t.ok(name.endsWith('.png'))
  }
  t.equal(sanitizeFileName(`${'漢'.repeat(90)}.png`, PNG), `${'漢'.repeat(65)}.png`, '90 Chinese characters (270 bytes) keep 65 (195 bytes)')
  t.equal(sanitizeFileName(`${'😀'.repeat(300)}.png`, PNG), `${'😀'.repeat(49)}.png`, '300 emoji keep 49 (196 bytes)')
})

t.test('a long name is cut between characters as a reader sees them', async t => {
  const family = '👨‍👩‍👧‍👦' // four people joined by zero-width joiners: 25 bytes, one picture
  t.equal(sanitizeFileName(`${family.repeat(40)}.png`, PNG), `${family.repeat(7)}.png`, 'never inside an emoji sequence')
  const marked = 'q\u0323\u0307' // a q with two combining marks (in canonical order), 5 bytes, no precomposed form
  const cut = sanitizeFileName(`${marked.repeat(100)}.png`, PNG).slice(0, -4)
  t.same(new Set(graphemes(cut)), new Set([marked]), 'never between a letter and its marks')
  t.equal(utf8(cut), 195)
  t.equal(sanitizeFileName(`${'x'.repeat(194)}${'é'.repeat(10)}.png`, PNG), `${'x'.repeat(194)}é.png`, 'as many 2-byte characters as fit')
  t.equal(sanitizeFileName(`${'x'.repeat(195)}${'é'.repeat(10)}.png`, PNG), `${'x'.repeat(195)}.png`, 'a 2-byte character that does not fit is left out whole')
  t.equal(sanitizeFileName(`z${'\u0301'.repeat(500)}.png`, PNG), 'image.png', 'a single character too large to fit leaves nothing, not half of it')
  t.equal(cutToBytes('abc', 10), 'abc')
  t.equal(cutToBytes('a😀b', 4), 'a')
})

t.test('invisible and direction-changing characters are removed; emoji sequences are kept whole', async t => {
  const cases: Array<[string, string]> = [
    ['photo\u202Egnp.exe', 'photognp.png'], // reads "photoexe.png" on screen with the override
    ['\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069\u200E\u200F\u061Cname.png', 'name.png'],
    ['\u200Bzero\u00ADwidth\uFEFF.png', 'zerowidth.png'],
    ['a\u200Db.png', 'ab.png'],
    ['a\u200C\u2060b.png', 'ab.png'],
    ['a\u2028b\u2029c.png', 'abc.png'],
    ['a\uFFFE\uFFFFb.png', 'ab.png'],
    ['a\u{E0041}\u{E0042}b.png', 'ab.png'],
    ['👩‍💻.png', '👩‍💻.png'],
    ['👍🏽‍.png', '👍🏽.png'], // a joiner with nothing to join
    ['\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}.png', '\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}.png'], // Scotland's flag
    ['❤️‍🔥.png', '❤️‍🔥.png'],
    ['\u202E\u202E\u202E', 'image.png']
  ]
  // Labels in ASCII: a raw line separator would break the TAP stream.
  const label = (s: string): string => JSON.stringify(s).replace(/[^\x20-\x7e]/gu, c => `U+${c.codePointAt(0)!.toString(16)}`)
  for (const [input, expected] of cases) t.equal(sanitizeFileName(input, PNG), expected, label(input))
  for (const [input] of cases) t.notMatch(sanitizeFileName(input, PNG), /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C\u200B\uFEFF]/u)
})

t.test('a hostile 16 KiB name costs no more than a short one', async t => {
  const started = performance.now()
  for (const unit of ['\u200B', '😀', '\u{E0041}', '\u0301', 'a\u200D']) sanitizeFileName(`\u{1F3F4}${unit.repeat(8000)}.png`, PNG)
  t.ok(performance.now() - started < 500, `${Math.round(performance.now() - started)} ms for five`)
})
