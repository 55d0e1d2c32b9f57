// `npm run openapi`: writes openapi/openapi.json from the schemas the routes really serve. The
// app needs its services to boot, so throwaway ones are started for the occasion.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import app from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { OPENAPI_PATH, serializeOpenApi } from '../src/http/openapi.ts'
import { ROOT, startFerretDB, startRedis } from './lib/services.ts'

const dir = await mkdtemp(join(tmpdir(), 'openapi-'))
const [redis, ferret] = await Promise.all([startRedis(), startFerretDB(dir, 'openapi')])
try {
  const config = loadConfig({ REDIS_URL: redis.url, MONGODB_URL: ferret.url, STAGING_DIR: join(dir, 'staging'), DATA_DIR: join(dir, 'files'), LOG_LEVEL: 'warn' })
  const server = Fastify()
  await server.register(fp(app), { config })
  await server.ready()
  await writeFile(join(ROOT, OPENAPI_PATH), serializeOpenApi(server.swagger()))
  await server.close()
  console.log(`wrote ${OPENAPI_PATH}`)
} finally {
  await Promise.all([redis.stop(), ferret.stop()])
  await rm(dir, { recursive: true, force: true })
}
