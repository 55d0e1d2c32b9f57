// The panel in a real headless Chromium (Debian's package, driven by playwright-core): log in,
// search, filter, open, edit, delete with and without the stored file, and the queue dashboard
// with a failed job. Screenshots of the list and the dashboard go to test-artifacts/.
//
// SKIP_BROWSER_TESTS=1 opts out on a machine without Chromium, loudly; CI never opts out.
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import { chromium, type Page } from 'playwright-core'
import t from 'tap'
import app, { serverOptions } from '../../src/app.ts'
import { freePort } from '../../scripts/lib/services.ts'
import { waitFor } from '../../scripts/lib/wait-for.ts'
import { startVariantWorker, startWorker } from '../helpers/build.ts'
import { testEnv } from '../helpers/config.ts'
import { randomPng } from '../helpers/images.ts'
import { uploadForm } from '../helpers/multipart.ts'
import { failedUpload } from './failed-job.ts'
import { accountsOf, imageRecord, PASSWORD } from './helpers.ts'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts')
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

if (process.env.SKIP_BROWSER_TESTS === '1') {
  if (process.env.CI) {
    t.fail('SKIP_BROWSER_TESTS=1 is not allowed in CI: the browser tests must run there')
  } else {
    for (let i = 0; i < 3; i++) console.error('!!! BROWSER TESTS DID NOT RUN (SKIP_BROWSER_TESTS=1) !!!')
    t.test('admin panel in a real browser', { skip: 'BROWSER TESTS DID NOT RUN: SKIP_BROWSER_TESTS=1' }, () => {})
  }
} else if (!existsSync(CHROMIUM)) {
  t.fail(`Chromium is not at ${CHROMIUM}. Install Debian's package as root (apt-get install chromium; ` +
    '`npm test` run as root does it), point CHROMIUM_PATH at a Chromium, or opt out with SKIP_BROWSER_TESTS=1 (never in CI).')
} else {
  t.test('admin panel in a real browser', async t => {
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    // The panel's zone differs from the browser's: every time shown must be in the panel's.
    const { config, dataDir } = await testEnv(t, { PORT: String(port), PUBLIC_BASE_URL: base, ADMIN_TIME_ZONE: 'Asia/Kolkata' })
    await mkdir(config.stagingDir, { recursive: true })
    const server = Fastify(serverOptions(config))
    await server.register(fp(app), { config })
    await server.listen({ port, host: '127.0.0.1' })
    t.teardown(() => server.close())
    await Promise.all([startWorker(t, config), startVariantWorker(t, config)])
    await accountsOf(server).create('alice', PASSWORD)

    // Real uploads through the API, so thumbnails are real stored files; one old record; and a
    // job that fails for good for the dashboard.
    const upload = async (phone: string, names: string[]) => {
      const form = uploadForm(phone, names.map(filename => ({ filename, content: randomPng(1500) })))
      const res = await fetch(`${base}/api/upload/`, { method: 'POST', headers: form.headers, body: form.payload })
      t.equal(res.status, 200, `uploaded ${names.join(', ')}`)
    }
    await upload('1234567890', ['beach.png', 'mountain.png'])
    await upload('5550001', ['receipt.png'])
    // The list shows each upload's thumbnail rendering, made by the variant worker meanwhile.
    await waitFor(async () => await server.db.images.countDocuments({ 'variants.status': 'ready' }) === 3, { what: 'the three uploads\' renderings' })
    await server.db.images.insertMany([imageRecord('777', 'archive-2020.png', '2020-01-15T10:00:00Z')])
    await failedUpload(server.uploadQueue.queue)

    const profile = await mkdtemp(join(tmpdir(), 'admin-chromium-'))
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, headless: true, viewport: { width: 1280, height: 900 }, timezoneId: 'America/Los_Angeles' })
    t.teardown(async () => {
      await context.close()
      await rm(profile, { recursive: true, force: true })
    })
    await mkdir(ARTIFACTS, { recursive: true })
    const page = context.pages()[0] ?? await context.newPage()
    // Generous: the suite runs test files in parallel on two cores.
    page.setDefaultTimeout(30_000)
    const names = (p: Page) => p.locator('td.file a').allTextContents()
    const stamped = (name: string) => new RegExp(`^\\d{4}-\\d{2}-\\d{2}_\\d{2}:\\d{2}:\\d{2}_${name.replace('.', '\\.')}$`)

    await t.test('log in', async t => {
      await page.goto(`${base}/admin/`)
      t.match(page.url(), /\/admin\/login\?next=/, 'sent to the login form')
      await page.fill('#username', 'alice')
      await page.fill('#password', 'not the password')
      await page.click('button[type=submit]')
      t.match(await page.textContent('.flash.error'), /correct username and password/)
      await page.fill('#password', PASSWORD)
      await page.click('button[type=submit]')
      await page.waitForURL(/\/admin\/images$/)
      t.same((await names(page)).length, 4)
      t.ok(await page.locator('img.thumb').first().evaluate(img => (img as unknown as { complete: boolean, naturalWidth: number }).complete && (img as unknown as { naturalWidth: number }).naturalWidth > 0), 'thumbnails load')
      await page.screenshot({ path: join(ARTIFACTS, 'admin-image-list.png'), fullPage: true })
    })

    await t.test('at a phone\'s width (390 px) nothing scrolls sideways and search is in reach', async t => {
      // A name and a URL without a place to break: the worst case for a narrow screen.
      const [long] = await server.db.images.insertMany([imageRecord('15550001234', `${'very-long-file-name-'.repeat(6)}.png`, '2021-06-01T10:00:00Z')])
      t.teardown(() => server.db.images.deleteOne({ _id: long!._id }))
      await page.setViewportSize({ width: 390, height: 844 })
      type Root = { document: { documentElement: { scrollWidth: number, clientWidth: number } } }
      const fits = () => page.evaluate(() => {
        const root = (globalThis as unknown as Root).document.documentElement
        return { scroll: root.scrollWidth, client: root.clientWidth }
      })
      for (const url of ['/admin/images', '/admin/images?range=custom&from=2020-03-01&to=2020-02-01', `/admin/images/${long!._id.toHexString()}`, '/admin/audit', '/admin/accounts']) {
        await page.goto(`${base}${url}`)
        const { scroll, client } = await fits()
        t.ok(scroll <= client, `${url}: page ${scroll}px wide in a ${client}px viewport`)
      }
      await page.goto(`${base}/admin/images`)
      for (const selector of ['form.search button[type=submit]', 'form.search input[name=q]', 'aside.filters >> text=Today', '.custom-range button', '.pager >> text=Next ›']) {
        const box = (await page.locator(selector).boundingBox())!
        t.ok(box.x >= 0 && box.x + box.width <= 390, `${selector} is within the width (x ${Math.round(box.x)}, width ${Math.round(box.width)})`)
      }
      const search = (await page.locator('form.search button[type=submit]').boundingBox())!
      t.ok(search.y + search.height <= 844, 'the search button is on the first screen')
      await page.screenshot({ path: join(ARTIFACTS, 'admin-image-list-390.png'), fullPage: true })
      await page.goto(`${base}/admin/images?range=custom&from=2020-03-01&to=2020-02-01`)
      t.ok(await page.locator('#date-error').isVisible(), 'a reversed range is explained beside the form')
      await page.screenshot({ path: join(ARTIFACTS, 'admin-date-error-390.png'), fullPage: true })
      await page.setViewportSize({ width: 1280, height: 900 })
      await page.goto(`${base}/admin/images`)
    })

    await t.test('search for a phone number', async t => {
      await page.fill('input[name=q]', '+1 (234) 567-890')
      await page.press('input[name=q]', 'Enter')
      await page.waitForURL(/q=/)
      const found = await names(page)
      t.equal(found.length, 2)
      for (const name of found) t.match(name, /_(beach|mountain)\.png$/)
      await page.click('text=Clear search and filter')
    })

    await t.test('filter by date', async t => {
      await page.click('aside.filters >> text=Today')
      await page.waitForURL(/range=today/)
      t.equal((await names(page)).length, 3, 'the uploads of today')
      await page.fill('input[name=from]', '2020-01-01')
      await page.fill('input[name=to]', '2020-01-31')
      await page.click('text=Apply dates')
      await page.waitForURL(/range=custom/)
      t.same(await names(page), ['archive-2020.png'])
      await page.click('text=Clear search and filter')
    })

    await t.test('open a record and edit it', async t => {
      await page.click('td.file a:text-matches("receipt")')
      await page.waitForURL(/\/admin\/images\/[0-9a-f]{24}$/)
      t.match(await page.textContent('h1'), stamped('receipt.png'))
      await page.fill('#f-phone_number', 'not a number')
      await page.click('text=Save')
      t.match(await page.textContent('#e-phone_number'), /Invalid phone number/)
      await page.fill('#f-phone_number', '+1 555 000 2222')
      await page.fill('#f-file_name', 'receipt-renamed.png')
      await page.click('text=Save')
      t.match(await page.textContent('.flash.success'), /Saved 'receipt-renamed.png' \(changed: phone_number, file_name\)/)
      const record = await server.db.images.findOne({ file_name: 'receipt-renamed.png' }).lean()
      t.equal(record?.phone_number, '15550002222')
    })

    const deleteFromDetail = async (name: RegExp, choice: 'keep' | 'delete') => {
      await page.goto(`${base}/admin/images`)
      const record = (await server.db.images.find({}).lean()).find(r => name.test(r.file_name))!
      await page.click(`a[href="/admin/images/${record._id.toHexString()}"] >> nth=1`)
      await page.click('text=Delete…')
      await page.check(`input[name=file][value=${choice}]`)
      await page.click('text=Yes, delete')
      await page.waitForURL(/\/admin\/images$/)
      return { record, message: await page.textContent('.flash.success') }
    }

    await t.test('delete a record and its stored file', async t => {
      const { record, message } = await deleteFromDetail(/_beach\.png$/, 'delete')
      t.match(message, /Its stored file was deleted/)
      t.notOk(existsSync(join(dataDir, '1234567890', record.file_name)), 'gone from storage')
      t.notOk(await server.db.images.findById(record._id))
    })

    await t.test('delete a record and keep its stored file', async t => {
      const { record, message } = await deleteFromDetail(/_mountain\.png$/, 'keep')
      t.match(message, /The stored file was kept/)
      t.ok(existsSync(join(dataDir, '1234567890', record.file_name)), 'still in storage')
      t.notOk(await server.db.images.findById(record._id))
    })

    await t.test('the queue dashboard shows the failed job', async t => {
      await page.click('header nav >> text=Upload queue')
      await page.waitForURL(/\/admin\/queues/)
      await page.goto(`${base}/admin/queues/queue/uploads?status=failed`)
      await page.getByText('the staged file of upload missing-staged-file is missing').first().waitFor()
      t.pass('the failure reason is on the page')
      // Dates in ADMIN_TIME_ZONE with its name, not in the browser's zone.
      t.match(await page.locator('time').first().textContent(), /GMT\+5:30/)
      t.ok(await page.getByText('Times in Asia/Kolkata').isVisible())
      await page.screenshot({ path: join(ARTIFACTS, 'admin-queue-dashboard.png'), fullPage: true })
      await page.click('#panel-bar >> text=Log out')
      await page.waitForURL(/\/admin\/logout$/)
      t.ok(await page.locator('main form[action="/admin/logout"] button').isVisible(), 'log-out asks, and posts')
      await page.goBack()
      await page.click('#panel-bar >> text=Back to images')
      await page.waitForURL(/\/admin\/images$/)
    })

    await t.test('log out', async t => {
      await page.goto(`${base}/admin/images`)
      await page.click('text=Log out')
      await page.waitForURL(/logged_out=1/)
      t.match(await page.textContent('.flash.success'), /You have been logged out/)
      await page.goto(`${base}/admin/images`)
      t.match(page.url(), /\/admin\/login/, 'the panel is closed again')
    })
  })
}
