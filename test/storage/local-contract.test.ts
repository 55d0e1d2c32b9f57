// The storage contract (contract.ts) against LocalStorage on a temp dir.
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import t from 'tap'
import { serverOptions } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import filesRoutes from '../../src/http/routes/files.ts'
import configPlugin from '../../src/plugins/config.ts'
import { createStorage } from '../../src/storage/index.ts'
import { storageContract } from './contract.ts'
import { StoragePermanentError } from '../../src/storage/errors.ts'

const PUBLIC_BASE_URL = 'https://img.example.com'

const missing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT'

storageContract(t, 'local', async t => {
  const root = await mkdtemp(join(tmpdir(), 'local-contract-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  // Built as the service builds it: no Dropbox settings means local storage under DATA_DIR.
  const config = loadConfig({ DATA_DIR: join(root, 'files'), STAGING_DIR: join(root, 'staging'), PUBLIC_BASE_URL, LOG_LEVEL: 'silent' })
  const storage = createStorage(config)
  t.equal(storage.kind, 'local')

  // publicUrl points at the API's /files route. Rather than a listening API, the real route
  // (src/http/routes/files.ts) answers in process: the URL's path is injected into it, once the
  // URL is checked to be on PUBLIC_BASE_URL.
  const api = Fastify(serverOptions(config))
  await api.register(configPlugin, { config })
  await api.register(filesRoutes)
  await api.ready()
  t.teardown(() => api.close())

  const onDisk = (path: string) => join(config.dataDir, ...path.split('/'))
  return {
    storage,
    readBack: path => readFile(onDisk(path)).catch(err => missing(err) ? undefined : Promise.reject(err)),
    list: folder => readdir(join(config.dataDir, folder)).catch(err => missing(err) ? [] : Promise.reject(err)),
    revision: async path => {
      const { ino, mtimeNs } = await stat(onDisk(path), { bigint: true })
      return `${ino}:${mtimeNs}`
    },
    download: async url => {
      const { origin, pathname, search } = new URL(url)
      if (origin !== PUBLIC_BASE_URL) throw new Error(`${url} is not under PUBLIC_BASE_URL`)
      const res = await api.inject({ method: 'GET', url: pathname + search })
      return { status: res.statusCode, body: res.rawPayload }
    },
    replaceBehind: path => writeFile(onDisk(path), Buffer.from('edited by someone else')),
    escapeRefusal: StoragePermanentError
    // Local disk refuses no name the service produces, and has no server to fail or throttle:
    // no refusedName, serverErrors or rateLimit.
  }
})
