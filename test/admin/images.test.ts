import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { adminApp, imageRecord, login, type Operator } from './helpers.ts'

/** The file names of the list's rows, in order. */
function rows (html: string): string[] {
  return [...html.matchAll(/<td class="file"><a href="[^"]+">([^<]*)<\/a><\/td>/g)].map(m => m[1]!)
}

function link (html: string, rel: 'next' | 'prev'): string | undefined {
  return [...html.matchAll(/rel="(next|prev)" href="([^"]+)"/g)].find(m => m[1] === rel)?.[2]?.replace(/&amp;/g, '&')
}

async function list (operator: Operator, url: string): Promise<{ status: number, names: string[], body: string }> {
  const res = await operator.request({ method: 'GET', url })
  return { status: res.statusCode, names: rows(res.body), body: res.body }
}

const DAY = 24 * 3600 * 1000

t.test('search and the upload-time filter return the right records', async t => {
  const { app } = await adminApp(t)
  const operator = await login(app)
  const now = new Date()
  const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()))
  const at = (offsetMs: number) => new Date(today.getTime() + offsetMs)
  const rendering = (name: string, width: number) => ({ path: `/.variants/x/${name}`, content_type: 'image/webp', size: 10, content_hash: 'h', width, height: width })
  const [todayA] = await app.db.images.insertMany([
    imageRecord('1234567890', 'today-a.jpg', at(1000), { variants: { status: 'ready', display: rendering('display.jpg', 2048), thumbnail: rendering('thumbnail.webp', 320), made_at: new Date() } }),
    imageRecord('1234567890', 'three-days.PNG', at(-3 * DAY + 3600_000), { variants: { status: 'failed', reason: 'the image data is damaged or unreadable (vipspng: libpng read error)', made_at: new Date() } }),
    imageRecord('1234567890', 'old.jpg', '2020-01-15T10:00:00Z'),
    imageRecord('5550001', 'today-b.jpg', at(2000)),
    imageRecord('5550001', 'ten-days.jpg', at(-10 * DAY)),
    imageRecord('999', 'jan-2020 (1).jpg', '2020-01-31T23:30:00Z'),
    imageRecord('999', 'feb-2020.jpg', '2020-02-01T00:00:00Z')
  ])

  const all = await list(operator, '/admin/images')
  t.equal(all.status, 200)
  t.same(all.names, ['today-b.jpg', 'today-a.jpg', 'three-days.PNG', 'ten-days.jpg', 'feb-2020.jpg', 'jan-2020 (1).jpg', 'old.jpg'], 'newest first')
  t.match(all.body, /7 records/)
  t.match(all.body, new RegExp(`<img class="thumb" src="/i/${todayA!._id.toHexString()}/thumbnail" alt="" loading="lazy"`), 'thumbnails from the service\'s own thumbnail URL, never image_url')
  t.match(all.body, /<span class="thumb missing size-64" role="img" aria-label="No preview: the image data is damaged or unreadable \(vipspng: libpng read error\)" title="[^"]*"><span class="why">No preview<\/span>/, 'an image that cannot be rendered: a placeholder saying why')
  t.match(all.body, /aria-label="The preview is being made"[^>]*><span class="why">Preview soon<\/span>/, 'one not rendered yet: a placeholder saying so')

  const byPhone = await list(operator, '/admin/images?q=1234567890')
  t.same(byPhone.names, ['today-a.jpg', 'three-days.PNG', 'old.jpg'])
  t.match(byPhone.body, /3 records match/)
  t.same((await list(operator, `/admin/images?q=${encodeURIComponent('+1 (234) 567-890')}`)).names, byPhone.names, 'phone numbers match however they are typed')
  t.same((await list(operator, '/admin/images?q=555')).names, ['today-b.jpg', 'ten-days.jpg'], 'part of a number')
  t.same((await list(operator, '/admin/images?q=.png')).names, ['three-days.PNG'], 'file names, case-insensitively')
  t.same((await list(operator, '/admin/images?q=days%20today')).names, [], 'every word must match')
  t.same((await list(operator, '/admin/images?q=1234567890%20old')).names, ['old.jpg'], 'a number and a word')
  t.same((await list(operator, `/admin/images?q=${encodeURIComponent('(1).jpg')}`)).names, ['jan-2020 (1).jpg'], 'regex characters are literal')
  t.same((await list(operator, `/admin/images?q=${encodeURIComponent('.*')}`)).names, [])
  t.same((await list(operator, `/admin/images?q=${encodeURIComponent('[')}`)).names, [], 'an unbalanced bracket is no error')
  const injected = await list(operator, '/admin/images?q[$ne]=x')
  t.equal(injected.names.length, 7, 'q[$ne] is an unknown parameter, not a query operator')

  t.same((await list(operator, '/admin/images?range=today')).names, ['today-b.jpg', 'today-a.jpg'])
  t.same((await list(operator, '/admin/images?range=7d')).names, ['today-b.jpg', 'today-a.jpg', 'three-days.PNG'])
  t.same((await list(operator, '/admin/images?range=year')).names.includes('old.jpg'), false)
  t.same((await list(operator, '/admin/images?range=custom&from=2020-01-01&to=2020-01-31')).names, ['jan-2020 (1).jpg', 'old.jpg'], 'both days included, the next excluded')
  t.same((await list(operator, '/admin/images?range=custom&from=2020-02-01')).names.includes('feb-2020.jpg'), true, 'open-ended')
  t.same((await list(operator, '/admin/images?range=today&q=5550001')).names, ['today-b.jpg'], 'search and filter together')
  // Mistakes in the dates are shown beside the date form on the list itself, with status 400.
  const bad = await list(operator, '/admin/images?q=1234567890&range=custom&from=2020-02-30')
  t.equal(bad.status, 400)
  t.match(bad.body, /<form method="get" action="\/admin\/images" class="custom-range invalid">/, 'the list page, not an error page')
  t.match(bad.body, /<p class="error" id="date-error" role="alert">&#39;2020-02-30&#39; is not a date \(YYYY-MM-DD\)\. The list below is not filtered by date\.<\/p>/)
  t.match(bad.body, /name="from" value="2020-02-30" aria-invalid="true"/, 'what was typed stays in the form')
  t.same(bad.names, byPhone.names, 'the search still applies; the dates do not')
  t.match(bad.body, /3 records match \(dates not applied\)/)
  const reversed = await list(operator, '/admin/images?range=custom&from=2020-03-01&to=2020-02-01')
  t.equal(reversed.status, 400)
  t.match(reversed.body, /id="date-error" role="alert">The start date is after the end date\./)
  t.match(reversed.body, /name="to" value="2020-02-01" aria-invalid="true"/)
  t.equal((await list(operator, '/admin/images?range=custom&from=not-a-date-at-all-and-then-some')).status, 400, 'a long value too')

  // The operators' time zone decides where "a day" begins.
  const { app: berlin } = await adminApp(t, { ADMIN_TIME_ZONE: 'Europe/Berlin' })
  await berlin.db.images.insertMany([imageRecord('1', 'late-utc.jpg', '2020-01-31T23:30:00Z'), imageRecord('1', 'early-utc.jpg', '2020-01-31T22:30:00Z')])
  const berlinOperator = await login(berlin)
  t.same((await list(berlinOperator, '/admin/images?range=custom&from=2020-02-01&to=2020-02-01')).names, ['late-utc.jpg'], '00:30 in Berlin is February')
  t.match((await list(berlinOperator, '/admin/images')).body, /2020-02-01 00:30:00/, 'times are shown in the zone')

  // Sorting by any column, with links that flip the direction.
  t.same((await list(operator, '/admin/images?sort=phone_number&q=5550001')).names, ['today-b.jpg', 'ten-days.jpg'], 'same phone: _id (insertion order) breaks the tie')
  t.same((await list(operator, '/admin/images?sort=file_name')).names.slice(0, 3), ['feb-2020.jpg', 'jan-2020 (1).jpg', 'old.jpg'])
  t.same((await list(operator, '/admin/images?sort=file_name&dir=desc')).names.slice(0, 2), ['today-b.jpg', 'today-a.jpg'])
  t.same((await list(operator, '/admin/images?sort=uploaded_at&dir=asc')).names[0], 'old.jpg')
  t.match(all.body, /href="\/admin\/images\?sort=phone_number"/, 'column headers sort')
  t.equal((await list(operator, '/admin/images?sort=storage_path')).status, 400, 'only the listed columns')
})

t.test('pages follow each other without gaps or repeats, both ways, in every order', async t => {
  const { app } = await adminApp(t)
  const operator = await login(app)
  const base = Date.UTC(2024, 0, 1)
  // 60 records, with runs of equal times and phone numbers so the _id tiebreak matters.
  await app.db.images.insertMany(Array.from({ length: 60 }, (_, i) =>
    imageRecord(String(1000 + (i % 7)), `img-${String(i).padStart(2, '0')}.jpg`, new Date(base + Math.floor(i / 3) * 60_000))))

  for (const order of ['', '&sort=phone_number', '&sort=file_name&dir=desc', '&sort=uploaded_at&dir=asc', '&q=100']) {
    const seen: string[] = []
    const pages: string[][] = []
    let url: string | undefined = `/admin/images?per=25${order}`
    while (url) {
      const page = await list(operator, url)
      t.equal(page.status, 200)
      pages.push(page.names)
      seen.push(...page.names)
      url = link(page.body, 'next')
    }
    const expected = 60
    t.equal(seen.length, expected, `${order || 'default'}: every record once`)
    t.equal(new Set(seen).size, expected, `${order || 'default'}: no repeats`)
    t.same(pages.map(p => p.length), [25, 25, 10])

    // Back from the last page gives the middle page again, then the first.
    let back = await list(operator, `/admin/images?per=25${order}`)
    back = await list(operator, link(back.body, 'next')!)
    const last = await list(operator, link(back.body, 'next')!)
    const middle = await list(operator, link(last.body, 'prev')!)
    t.same(middle.names, pages[1], `${order || 'default'}: previous page`)
    const first = await list(operator, link(middle.body, 'prev')!)
    t.same(first.names, pages[0])
    t.equal(link(first.body, 'prev'), undefined, 'no page before the first')
  }

  const damaged = await list(operator, '/admin/images?per=25&after=bm90IGEgY3Vyc29y')
  t.equal(damaged.status, 400, 'a damaged cursor is a readable error')
  t.match(damaged.body, /class="flash error" role="alert">The page link is damaged; start again from the first page\. This is the first page\./)
  t.equal(damaged.names.length, 25, 'on the first page of the list')
})

t.test('numbered pages: page N of M, first, previous, next and a few numbers', async t => {
  const { app } = await adminApp(t)
  const operator = await login(app)
  const base = Date.UTC(2024, 0, 1)
  await app.db.images.insertMany(Array.from({ length: 130 }, (_, i) =>
    imageRecord('1000', `img-${String(i).padStart(3, '0')}.jpg`, new Date(base + i * 60_000))))
  const pageOf = (body: string) => /data-testid="page-of">([^<]+)</.exec(body)?.[1]
  const numbers = (body: string) => [...body.matchAll(/<span class="numbers">(.*?)<\/span>\s*<span class="per">/gs)][0]![1]!
    .replace(/<a href="[^"]*" aria-label="Page \d+">(\d+)<\/a>/g, '$1').replace(/<strong aria-current="page">(\d+)<\/strong>/g, '[$1]')
    .replace(/<span class="gap">…<\/span>/g, '…').replace(/\s+/g, ' ').trim()

  const first = await list(operator, '/admin/images?per=25')
  t.equal(pageOf(first.body), 'Page 1 of 6')
  t.equal(numbers(first.body), '[1] 2 3 … 6')
  t.match(first.body, /<span class="disabled">« First<\/span>/)
  t.same(first.names.slice(0, 2), ['img-129.jpg', 'img-128.jpg'])

  // A numbered page (skipping rows) and Next from it (seeking) agree on what comes where.
  const third = await list(operator, '/admin/images?per=25&page=3')
  t.equal(third.status, 200)
  t.equal(pageOf(third.body), 'Page 3 of 6')
  t.equal(numbers(third.body), '1 2 [3] 4 5 6')
  t.same(third.names.slice(0, 1), ['img-079.jpg'])
  const fourth = await list(operator, link(third.body, 'next')!)
  t.equal(pageOf(fourth.body), 'Page 4 of 6')
  t.same(fourth.names.slice(0, 1), ['img-054.jpg'])
  t.match(link(third.body, 'next')!, /page=4/)
  const back = await list(operator, link(third.body, 'prev')!)
  t.equal(pageOf(back.body), 'Page 2 of 6')
  t.same(back.names, (await list(operator, '/admin/images?per=25&page=2')).names)
  t.match(third.body, /href="\/admin\/images\?per=25">« First<\/a>/)
  const last = await list(operator, '/admin/images?per=25&page=6')
  t.equal(last.names.length, 5)
  t.match(last.body, /<span class="disabled">Next ›<\/span>/)

  // Search and page size carry through the numbers; the count rules stay (numbers only within the counted 10,000).
  t.equal(pageOf((await list(operator, '/admin/images?q=img-12&per=25')).body), 'Page 1 of 1')
  const tooFar = await list(operator, '/admin/images?per=25&page=401')
  t.equal(tooFar.status, 400)
  t.match(tooFar.body, /Numbered pages go up to 400 at 25 a page; go further with Next\. This is the first page\./)
  t.equal(pageOf(tooFar.body), 'Page 1 of 6')
})

t.test('the count is capped, and markup in a record stays text', async t => {
  const { app } = await adminApp(t)
  const operator = await login(app)
  await app.db.images.insertMany([
    imageRecord('1', '<script>alert(1)</script>.png', new Date(), { image_url: 'javascript:alert(1)' }),
    imageRecord('2', '"><img src=x onerror=alert(2)>.png', new Date())
  ])
  const page = await list(operator, '/admin/images')
  t.notMatch(page.body, /<script>alert/)
  t.notMatch(page.body, /<img src=x/)
  t.match(page.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;.png/)
  t.notMatch(page.body, /href="javascript:/, 'a javascript: URL is never a link')
  t.notMatch(page.body, /src="javascript:/)
})

async function storedFile (dataDir: string, phone: string, name: string): Promise<string> {
  await mkdir(join(dataDir, phone), { recursive: true })
  const path = join(dataDir, phone, name)
  await writeFile(path, 'bytes')
  return path
}

async function flashes (operator: Operator, url = '/admin/images'): Promise<string[]> {
  const res = await operator.request({ method: 'GET', url })
  return [...res.body.matchAll(/<p class="flash (\w+)" role="status">([^<]*)<\/p>/g)].map(m => `${m[1]}: ${m[2]!.replace(/&#39;/g, "'")}`)
}

async function insert (app: FastifyInstance, record: ReturnType<typeof imageRecord>): Promise<string> {
  const [doc] = await app.db.images.insertMany([record])
  return doc!._id.toHexString()
}

t.test('view and edit a record', async t => {
  const { app } = await adminApp(t)
  const operator = await login(app)
  const id = await insert(app, imageRecord('1234567890', 'a.jpg', '2024-12-17T12:30:45Z', { original_name: 'holiday.jpg' }))

  const view = await operator.request({ method: 'GET', url: `/admin/images/${id}` })
  t.equal(view.statusCode, 200)
  for (const text of ['holiday.jpg', '/1234567890/a.jpg', 'value="2024-12-17T12:30:45"', 'value="1234567890"']) t.match(view.body, text)

  const invalid = await operator.post(`/admin/images/${id}`, { phone_number: 'abc', file_name: 'a/b', image_url: 'ftp://x', uploaded_at: 'yesterday' })
  t.equal(invalid.statusCode, 400)
  for (const text of ['Invalid phone number', 'cannot contain', 'http:// or https://', 'must be a date and time', 'value="abc"']) t.match(invalid.body, text)
  t.equal((await app.db.images.findById(id).lean())!.phone_number, '1234567890', 'nothing saved')

  const saved = await operator.post(`/admin/images/${id}`, { phone_number: '+1 (555) 000-1111', file_name: 'renamed.jpg', image_url: 'https://example.com/x.jpg?raw=1', uploaded_at: '2024-12-18T08:00' })
  t.equal(saved.statusCode, 303)
  t.equal(saved.headers.location, `/admin/images/${id}`)
  const record = await app.db.images.findById(id).lean()
  t.equal(record!.phone_number, '15550001111', 'normalized as the API does')
  t.equal(record!.file_name, 'renamed.jpg')
  t.equal(record!.image_url, 'https://example.com/x.jpg?raw=1')
  t.equal(record!.uploaded_at.toISOString(), '2024-12-18T08:00:00.000Z')
  t.equal(record!.storage_path, '/1234567890/a.jpg', 'the stored file is not moved')
  t.match((await flashes(operator, `/admin/images/${id}`))[0], /^success: Saved 'renamed.jpg' \(changed: phone_number, file_name, image_url, uploaded_at\)/)

  // Saving the form untouched changes nothing, not even the milliseconds the form cannot show.
  const precise = await insert(app, imageRecord('1', 'precise.jpg', '2024-12-17T12:30:45.678Z'))
  const untouched = await operator.post(`/admin/images/${precise}`, { phone_number: '1', file_name: 'precise.jpg', image_url: 'http://localhost:3000/files/1/precise.jpg', uploaded_at: '2024-12-17T12:30:45' })
  t.equal(untouched.statusCode, 303)
  t.same(await flashes(operator, `/admin/images/${precise}`), ['success: Nothing changed.'])
  t.equal((await app.db.images.findById(precise).lean())!.uploaded_at.toISOString(), '2024-12-17T12:30:45.678Z')

  t.equal((await operator.request({ method: 'GET', url: '/admin/images/0123456789abcdef01234567' })).statusCode, 404)
  const notAnId = await operator.request({ method: 'GET', url: '/admin/images/nope' })
  t.equal(notAnId.statusCode, 400)
  t.match(notAnId.headers['content-type'], /text\/html/)
})

t.test('delete: the operator chooses what happens to the stored file, and is told', async t => {
  const { app, dataDir } = await adminApp(t)
  const operator = await login(app)
  const keptPath = await storedFile(dataDir, '111', 'keep.jpg')
  const gonePath = await storedFile(dataDir, '111', 'gone.jpg')
  const keep = await insert(app, imageRecord('111', 'keep.jpg', new Date()))
  const gone = await insert(app, imageRecord('111', 'gone.jpg', new Date()))
  const missing = await insert(app, imageRecord('111', 'never-stored.jpg', new Date()))

  const confirm = await operator.request({ method: 'GET', url: `/admin/images/${keep}/delete` })
  t.equal(confirm.statusCode, 200)
  t.match(confirm.body, /Delete an image\?/)
  t.match(confirm.body, /name="file" value="keep" required/)
  t.match(confirm.body, /name="file" value="delete" required/)

  const noChoice = await operator.post('/admin/images/delete', { ids: keep, action: 'delete' })
  t.equal(noChoice.statusCode, 400, 'no silent default for the stored file')
  t.match(noChoice.body, /Choose whether the stored files are kept or deleted/)
  t.ok(await app.db.images.findById(keep), 'nothing deleted yet')

  let res = await operator.post('/admin/images/delete', { ids: keep, action: 'delete', file: 'keep' })
  t.equal(res.statusCode, 303)
  t.same(await flashes(operator), ["success: Deleted the record of 'keep.jpg'. The stored file was kept."])
  t.notOk(await app.db.images.findById(keep))
  t.ok(existsSync(keptPath), 'the file is still in storage')

  res = await operator.post('/admin/images/delete', { ids: gone, action: 'delete', file: 'delete' })
  t.same(await flashes(operator), ["success: Deleted the record of 'gone.jpg'. Its stored file was deleted."])
  t.notOk(existsSync(gonePath), 'the file is gone from storage')
  t.notOk(await app.db.images.findById(gone))

  res = await operator.post('/admin/images/delete', { ids: missing, action: 'delete', file: 'delete' })
  t.same(await flashes(operator), ["success: Deleted the record of 'never-stored.jpg'. Its stored file was already gone from storage."])
})

t.test('delete keeps a file another record uses, and keeps a record whose file cannot be deleted', async t => {
  const { app, dataDir } = await adminApp(t)
  const operator = await login(app)
  const shared = await storedFile(dataDir, '222', 'same.jpg')
  const one = await insert(app, imageRecord('222', 'same.jpg', new Date()))
  const two = await insert(app, imageRecord('222', 'same.jpg', new Date()))
  const elsewhere = await insert(app, imageRecord('222', 'in-dropbox.jpg', new Date(), { storage: 'dropbox', storage_path: '/222/in-dropbox.jpg' }))

  await operator.post('/admin/images/delete', { ids: one, action: 'delete', file: 'delete' })
  t.same(await flashes(operator), ["success: Deleted the record of 'same.jpg'. The stored file was kept: another record still uses it."])
  t.ok(existsSync(shared))
  await operator.post('/admin/images/delete', { ids: two, action: 'delete', file: 'delete' })
  t.same(await flashes(operator), ["success: Deleted the record of 'same.jpg'. Its stored file was deleted."])
  t.notOk(existsSync(shared), 'deleted with its last record')

  await operator.post('/admin/images/delete', { ids: elsewhere, action: 'delete', file: 'delete' })
  const [message] = await flashes(operator)
  t.match(message, /^error: 'in-dropbox.jpg' was not deleted: its stored file could not be deleted \(the file is in dropbox storage, and this service is configured for local\)\. The record was kept/)
  t.ok(await app.db.images.findById(elsewhere), 'record kept: its file is not lost track of')
  await operator.post('/admin/images/delete', { ids: elsewhere, action: 'delete', file: 'keep' })
  t.notOk(await app.db.images.findById(elsewhere), 'the record alone can still go')
})

t.test('bulk delete', async t => {
  const { app, dataDir } = await adminApp(t)
  const operator = await login(app)
  const paths = await Promise.all(['a.jpg', 'b.jpg'].map(n => storedFile(dataDir, '333', n)))
  const ids = await Promise.all(['a.jpg', 'b.jpg', 'c.jpg'].map(n => insert(app, imageRecord('333', n, new Date()))))
  const survivor = await insert(app, imageRecord('444', 'survivor.jpg', new Date()))

  const none = await operator.post('/admin/images/delete', { action: 'confirm' })
  t.equal(none.statusCode, 303)
  t.same(await flashes(operator), ['warning: Select at least one image to delete.'])

  const back = '/admin/images?q=333'
  const confirm = await operator.post('/admin/images/delete', { ids, action: 'confirm', back })
  t.equal(confirm.statusCode, 200)
  t.match(confirm.body, /Delete 3 images\?/)
  for (const name of ['a.jpg', 'b.jpg', 'c.jpg']) t.match(confirm.body, name)
  t.notMatch(confirm.body, /survivor/)
  t.match(confirm.body, `name="back" value="${back}"`)

  const done = await operator.post('/admin/images/delete', { ids: [...ids, '0123456789abcdef01234567'], action: 'delete', file: 'delete', back })
  t.equal(done.statusCode, 303)
  t.equal(done.headers.location, back, 'back to the same search')
  t.same(await flashes(operator), [
    'success: 3 records deleted. Stored files: 2 files deleted, 1 file already gone from storage.',
    'warning: One selected record had already been deleted.'
  ])
  for (const path of paths) t.notOk(existsSync(path))
  t.equal(await app.db.images.countDocuments({}), 1)
  t.ok(await app.db.images.findById(survivor))

  const offSite = await operator.post('/admin/images/delete', { ids: survivor, action: 'delete', file: 'keep', back: 'https://evil.example/' })
  t.equal(offSite.headers.location, '/admin/images', 'back= never leaves the list')
})

t.test('bulk delete counts stored files, not records, when records share a file', async t => {
  const { app, dataDir } = await adminApp(t)
  const operator = await login(app)
  // A retried upload of the same bytes: two records on one file.
  const shared = await storedFile(dataDir, '555', 'twice.jpg')
  const single = await storedFile(dataDir, '555', 'once.jpg')
  const twins = [await insert(app, imageRecord('555', 'twice.jpg', new Date())), await insert(app, imageRecord('555', 'twice.jpg', new Date()))]
  await operator.post('/admin/images/delete', { ids: twins, action: 'delete', file: 'delete' })
  t.same(await flashes(operator), ['success: 2 records deleted; they pointed at 1 stored file: 1 file deleted.'])
  t.notOk(existsSync(shared))

  // Three records, two files.
  await storedFile(dataDir, '555', 'twice.jpg')
  const three = [
    await insert(app, imageRecord('555', 'twice.jpg', new Date())),
    await insert(app, imageRecord('555', 'twice.jpg', new Date())),
    await insert(app, imageRecord('555', 'once.jpg', new Date()))
  ]
  await operator.post('/admin/images/delete', { ids: three, action: 'delete', file: 'delete' })
  t.same(await flashes(operator), ['success: 3 records deleted; they pointed at 2 stored files: 2 files deleted.'])
  t.notOk(existsSync(single))

  // Kept files are counted the same way.
  const kept = [await insert(app, imageRecord('556', 'k.jpg', new Date())), await insert(app, imageRecord('556', 'k.jpg', new Date()))]
  await operator.post('/admin/images/delete', { ids: kept, action: 'delete', file: 'keep' })
  t.same(await flashes(operator), ['success: 2 records deleted; they pointed at 1 stored file: 1 file kept.'])

  // The audit log says what happened to the records and to the files.
  const events = await app.db.connection.collection('audit_events').find({ action: 'image.delete' }).sort({ at: 1, _id: 1 }).toArray()
  t.equal(events.length, 3)
  t.equal(events[0]!.actor, 'alice')
  t.equal(events[0]!.details.summary, '2 records deleted; they pointed at 1 stored file: 1 file deleted.')
  const files = (events[1]!.details.stored_files as Array<{ file: string }>).sort((a, b) => a.file.localeCompare(b.file))
  t.same(files, [{ file: 'local:/555/once.jpg', outcome: 'deleted' }, { file: 'local:/555/twice.jpg', outcome: 'deleted' }], 'each stored file once')
  t.equal(events[2]!.details.files, 'kept')
})
