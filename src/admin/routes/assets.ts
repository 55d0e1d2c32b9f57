import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyPluginAsync } from 'fastify'

const ASSETS = join(import.meta.dirname, '../assets')

// The stylesheet and the small script of the panel: public (the login page needs them) and free
// of data. Read once at start; both are a few kilobytes.
const assetRoutes: FastifyPluginAsync = async (fastify) => {
  const files = {
    'admin.css': { type: 'text/css; charset=utf-8', body: await readFile(join(ASSETS, 'admin.css')) },
    'admin.js': { type: 'text/javascript; charset=utf-8', body: await readFile(join(ASSETS, 'admin.js')) }
  }
  for (const [name, file] of Object.entries(files)) {
    fastify.get(`/assets/${name}`, { schema: { hide: true }, config: { adminPublic: true } }, (_request, reply) =>
      reply.type(file.type).header('cache-control', 'public, max-age=300').send(file.body))
  }
}

export default assetRoutes
