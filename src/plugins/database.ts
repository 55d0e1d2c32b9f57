import fp from 'fastify-plugin'
import { openDatabase, type Database } from '../models/connect.ts'

declare module 'fastify' {
  interface FastifyInstance {
    db: Database
  }
}

export default fp(async (fastify) => {
  const db = await openDatabase(fastify.config.mongodbUrl)
  fastify.decorate('db', db)
  fastify.addHook('onClose', async () => { await db.connection.close() })
}, { name: 'database', dependencies: ['config'] })
