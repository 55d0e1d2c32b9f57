// Times the admin list at 100,000 records through the real app (inject, so routing, query and
// rendering are all counted): the first page, a page 99,000 rows deep reached by its keyset
// cursor, and what offset pagination (skip) would cost for the same page. Not part of `npm test`
// (it takes minutes on FerretDB); run it with:
//   REDIS_URL=redis://127.0.0.1:6390 MONGODB_URL=mongodb://127.0.0.1:27990/x node test/admin/list-benchmark.ts
import { createConnection } from 'mongoose'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import app, { serverOptions } from '../../src/app.ts'
import { encodeCursor, type ListRow } from '../../src/admin/images/list-query.ts'
import { loadConfig } from '../../src/config.ts'
import { imageModel } from '../../src/models/image.ts'
import { withDatabase } from '../helpers/config.ts'
import { accountsOf, login, PASSWORD } from './helpers.ts'

const N = 100_000
const DEEP = 99_000
const RUNS = 3
const mongodbUrl = withDatabase(process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27017/x', 'admin_list_benchmark')
const config = loadConfig({ REDIS_URL: process.env.REDIS_URL, MONGODB_URL: mongodbUrl, QUEUE_PREFIX: 'admin-bench', LOG_LEVEL: 'warn', STAGING_DIR: '/tmp/admin-bench/staging', DATA_DIR: '/tmp/admin-bench/files' })

// Fill the collection once; later runs reuse it.
const connection = await createConnection(mongodbUrl).asPromise()
const images = imageModel(connection)
await images.createIndexes()
const have = await images.countDocuments({}, { limit: N })
if (have < N) {
  const started = performance.now()
  const base = Date.UTC(2024, 0, 1)
  for (let i = have; i < N; i += 5000) {
    const docs = []
    for (let j = i; j < Math.min(N, i + 5000); j++) {
      const phone = String(1_000_000_000 + (j % 5000))
      docs.push({ phone_number: phone, file_name: `2024-01-01_00:00:00_img${j}.jpg`, image_url: `http://localhost:3000/files/${phone}/img${j}.jpg`, uploaded_at: new Date(base + j * 60_000), storage: 'local', storage_path: `/${phone}/img${j}.jpg`, size: 1000, content_type: 'image/jpeg', content_hash: 'h' })
    }
    await images.collection.insertMany(docs, { ordered: false })
  }
  console.log(`inserted ${N - have} records in ${Math.round(performance.now() - started)} ms`)
}

const server = Fastify(serverOptions(config))
await server.register(fp(app), { config })
await server.ready()
await accountsOf(server).create(`bench${Date.now()}`, PASSWORD).then(async a => {
  const operator = await login(server, a.username)

  async function time (label: string, run: () => Promise<unknown>): Promise<void> {
    const ms: number[] = []
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now()
      await run()
      ms.push(performance.now() - started)
    }
    ms.sort((x, y) => x - y)
    console.log(`${label.padEnd(58)} median ${Math.round(ms[1]!)} ms  (min ${Math.round(ms[0]!)}, max ${Math.round(ms[2]!)})`)
  }
  const page = async (url: string) => {
    const res = await operator.request({ method: 'GET', url })
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode}`)
  }

  // The cursor of row 99,000 in the default order (found once with skip, outside the timing).
  const [deepRow] = await images.find({}, { phone_number: 1, file_name: 1, image_url: 1, uploaded_at: 1 }).sort({ uploaded_at: -1, _id: -1 }).skip(DEEP).limit(1).lean<ListRow[]>()
  const cursor = encodeCursor(deepRow!, 'uploaded_at')

  console.log(`admin list at ${N.toLocaleString('en-US')} records, ${RUNS} runs each, ${mongodbUrl.replace(/\/[^/]*$/, '')}`)
  await time('GET /admin/images (first page, newest first, 50 rows)', () => page('/admin/images'))
  await time(`GET /admin/images?after=<cursor of row ${DEEP}> (keyset)`, () => page(`/admin/images?after=${cursor}`))
  await time(`the same page by skip(${DEEP}).limit(51) (query only)`, () => images.find({}).sort({ uploaded_at: -1, _id: -1 }).skip(DEEP).limit(51).lean())
  await time('GET /admin/images?q=1000000042 (search)', () => page('/admin/images?q=1000000042'))
  await time('GET /admin/images?range=custom&from=2024-02-01&to=2024-02-07', () => page('/admin/images?range=custom&from=2024-02-01&to=2024-02-07'))
  await time('GET /admin/images?sort=file_name (first page)', () => page('/admin/images?sort=file_name'))
})
await server.close()
await connection.close()
