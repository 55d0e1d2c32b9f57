import t from 'tap'
import { hashPassword, verifyPassword } from '../../src/admin/auth/password.ts'
import { normalizeUsername, passwordProblem } from '../../src/core/admin-account-rules.ts'
import { customRange, presetRange } from '../../src/admin/images/date-ranges.ts'
import { decodeCursor, encodeCursor, listFilter, listParams } from '../../src/admin/images/list-query.ts'
import { formatDateTime, fromDateTimeLocal } from '../../src/admin/images/time-zone.ts'
import { html, safeUrl } from '../../src/admin/views/html.ts'
import { pageNumbers } from '../../src/admin/views/image-list.ts'
import { loadConfig } from '../../src/config.ts'
import { Types } from 'mongoose'

t.test('passwords: scrypt with the parameters stored alongside', async t => {
  const stored = await hashPassword('correct horse battery staple')
  t.match(stored, /^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{86}$/)
  t.not(await hashPassword('correct horse battery staple'), stored, 'a salt of its own every time')
  t.ok(await verifyPassword('correct horse battery staple', stored))
  t.notOk(await verifyPassword('correct horse battery stapl', stored))
  t.notOk(await verifyPassword('correct horse battery staple', stored.replace('$32768$', '$1073741824$')), 'absurd parameters are refused, not run')
  t.notOk(await verifyPassword('x', 'plain text'))
  t.equal(passwordProblem('short'), 'The password must be at least 12 characters long.')
  t.ok(passwordProblem('            '))
  t.equal(passwordProblem('long enough password'), undefined)
  t.equal(normalizeUsername(' Alice '), 'alice')
  t.equal(normalizeUsername('a b'), undefined)
  t.equal(normalizeUsername('$ne'), undefined)
})

t.test('time zones: days begin at local midnight, across DST changes', async t => {
  // 2024-03-31: Europe/Berlin jumps from +01:00 to +02:00.
  const now = new Date('2024-03-31T12:00:00Z')
  const today = presetRange('today', now, 'Europe/Berlin')
  t.equal(today.from!.toISOString(), '2024-03-30T23:00:00.000Z')
  t.equal(today.to!.toISOString(), '2024-03-31T22:00:00.000Z', 'a 23-hour day')
  t.same(presetRange('month', now, 'UTC'), { from: new Date('2024-03-01T00:00:00Z'), to: new Date('2024-04-01T00:00:00Z') })
  t.same(presetRange('year', new Date('2024-12-31T23:30:00Z'), 'America/New_York').from, new Date('2024-01-01T05:00:00Z'))
  t.same(presetRange('7d', now, 'UTC').from, new Date('2024-03-24T00:00:00Z'))
  t.same(customRange('2024-02-28', '2024-02-29', 'UTC'), { from: new Date('2024-02-28T00:00:00Z'), to: new Date('2024-03-01T00:00:00Z') })
  t.equal(customRange('2023-02-29', '', 'UTC'), "'2023-02-29' is not a date (YYYY-MM-DD).")
  t.equal(formatDateTime(new Date('2024-07-01T10:00:00Z'), 'Asia/Kolkata'), '2024-07-01 15:30:00')
  t.equal(fromDateTimeLocal('2024-07-01T15:30:00', 'Asia/Kolkata')!.toISOString(), '2024-07-01T10:00:00.000Z')
  t.equal(fromDateTimeLocal('2024-02-30T10:00', 'UTC'), undefined)
  t.equal(fromDateTimeLocal('soon', 'UTC'), undefined)
})

t.test('the list query: escaped search, cursors that round-trip', async t => {
  const filter = listFilter(listParams({ q: 'a.b*' }), new Date(), 'UTC')
  t.same(filter, { $and: [{ $or: [{ file_name: { $regex: 'a\\.b\\*', $options: 'i' } }] }] })
  const phone = listFilter(listParams({ q: '+1 (234) 56' }), new Date(), 'UTC')
  t.same(phone, { $and: [{ $or: [{ file_name: { $regex: '\\+1 \\(234\\) 56', $options: 'i' } }, { phone_number: { $regex: '123456', $options: 'i' } }] }] })
  const id = new Types.ObjectId()
  const at = new Date('2024-01-02T03:04:05.678Z')
  const row = { _id: id, uploaded_at: at, phone_number: '1', file_name: 'f', image_url: 'u' }
  t.same(decodeCursor(encodeCursor(row, 'uploaded_at'), 'uploaded_at'), { value: at, id })
  t.same(decodeCursor(encodeCursor(row, 'file_name'), 'file_name'), { value: 'f', id })
  t.throws(() => decodeCursor(encodeCursor(row, 'file_name'), 'uploaded_at'), /damaged/)
})

t.test('html escapes everything interpolated', async t => {
  t.equal(html`<p title="${'"x\''}">${'<b>&'}</p>`.text, '<p title="&quot;x&#39;">&lt;b&gt;&amp;</p>')
  t.equal(html`<ul>${['<a>', html`<li>ok</li>`]}</ul>`.text, '<ul>&lt;a&gt;<li>ok</li></ul>')
  t.equal(safeUrl('javascript:alert(1)'), undefined)
  t.equal(safeUrl('https://www.dropbox.com/s/x/a.jpg?raw=1'), 'https://www.dropbox.com/s/x/a.jpg?raw=1')
})

t.test('admin settings are validated with messages naming the setting', async t => {
  const base = { MONGODB_URL: 'mongodb://127.0.0.1:1/x', REDIS_URL: 'redis://127.0.0.1:1' }
  const config = loadConfig(base)
  t.same(config.admin, { enabled: true, sessionTtlSeconds: 28800, sessionMaxAgeSeconds: 86400, cookieSecure: false, loginAttemptsPerMinute: 10, timeZone: 'UTC', bootstrap: undefined })
  t.equal(loadConfig({ ...base, PUBLIC_BASE_URL: 'https://x.example' }).admin.cookieSecure, true)
  t.equal(loadConfig({ ...base, PUBLIC_BASE_URL: 'https://x.example', ADMIN_COOKIE_SECURE: 'false' }).admin.cookieSecure, false)
  t.throws(() => loadConfig({ ...base, ADMIN_BOOTSTRAP_USERNAME: 'root' }), /ADMIN_BOOTSTRAP_USERNAME and ADMIN_BOOTSTRAP_PASSWORD must be set together/)
  t.throws(() => loadConfig({ ...base, ADMIN_BOOTSTRAP_USERNAME: 'root', ADMIN_BOOTSTRAP_PASSWORD: 'short' }), /ADMIN_BOOTSTRAP_PASSWORD/)
  t.throws(() => loadConfig({ ...base, ADMIN_TIME_ZONE: 'Mars/Olympus' }), /ADMIN_TIME_ZONE 'Mars\/Olympus' is not an IANA time zone/)
  t.throws(() => loadConfig({ ...base, ADMIN_SESSION_TTL_SECONDS: '7200', ADMIN_SESSION_MAX_AGE_SECONDS: '3600' }), /ADMIN_SESSION_MAX_AGE_SECONDS must not be less than ADMIN_SESSION_TTL_SECONDS/)
  t.throws(() => loadConfig({ ...base, ADMIN_ENABLED: 'maybe' }), /ADMIN_ENABLED/)
  t.equal(loadConfig({ ...base, ADMIN_BOOTSTRAP_USERNAME: 'Root', ADMIN_BOOTSTRAP_PASSWORD: 'long enough password' }).admin.bootstrap?.username, 'root')
})

t.test('page numbers: the first, the neighbours, the last counted; gaps marked', async t => {
  t.same(pageNumbers(1, 1, 200), [1])
  t.same(pageNumbers(1, 6, 200), [1, 2, 3, null, 6])
  t.same(pageNumbers(4, 12, 200), [1, 2, 3, 4, 5, 6, null, 12])
  // Past 10,000 matches nobody counted the pages: numbers stop at the last counted one.
  t.same(pageNumbers(3, undefined, 200), [1, 2, 3, 4, 5, null, 200, null])
  t.same(pageNumbers(250, undefined, 200), [1, null, 200, null, 250, null], 'reached with Next past the counted pages')
})
