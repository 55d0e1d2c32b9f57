// The baseline of the upload benchmark: the least a Fastify 5 service can do with the same
// request. @fastify/multipart parses the body, each file part is streamed to its own file on disk
// with pipeline, the phone_number field is read, and the answer is a small 200 JSON. No queue, no
// database, no storage: the difference to the full service is what those cost.
//   PORT=3001 UPLOAD_DIR=/tmp/up LOG_LEVEL=info node bench/baseline-server.ts
import { randomUUID } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import multipart from '@fastify/multipart'
import Fastify from 'fastify'

const port = Number(process.env.PORT ?? 3001)
const dir = process.env.UPLOAD_DIR ?? '.data/bench/baseline'
// The same logger settings as the service (src/app.ts), so both pay for the same request logs.
const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? 'info' } })
await mkdir(dir, { recursive: true })
await app.register(multipart)

app.get('/health', { logLevel: 'warn' }, async () => ({ status: 'ok' }))

app.post('/api/upload/', async (request) => {
  let phoneNumber: string | undefined
  const results: Array<{ filename: string, status: 'uploaded' }> = []
  for await (const part of request.parts({ limits: { fileSize: 50 * 1024 * 1024 } })) {
    if (part.type === 'field') {
      if (part.fieldname === 'phone_number') phoneNumber = String(part.value)
      continue
    }
    await pipeline(part.file, createWriteStream(join(dir, randomUUID())))
    results.push({ filename: part.filename, status: 'uploaded' })
  }
  return { phone_number: phoneNumber, results }
})

const shutdown = (): void => { app.close().then(() => process.exit(0), () => process.exit(1)) }
process.once('SIGTERM', shutdown)
process.once('SIGINT', shutdown)
await app.listen({ port, host: '127.0.0.1' })
