import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { OPENAPI_PATH, serializeOpenApi } from '../src/http/openapi.ts'
import { ROOT } from '../scripts/lib/services.ts'
import { build } from './helpers/build.ts'
import { testEnv } from './helpers/config.ts'

t.test('the committed OpenAPI document is what the code serves', async t => {
  const { config } = await testEnv(t)
  const app = await build(t, config)
  const served = await app.inject({ method: 'GET', url: '/docs/json' })
  t.equal(served.statusCode, 200)
  const committed = await readFile(join(ROOT, OPENAPI_PATH), 'utf8')
  t.equal(serializeOpenApi(served.json()), committed, `${OPENAPI_PATH} is stale: run \`npm run openapi\` and commit it`)
})

t.test('the document describes both endpoints, the multipart body and every response', async t => {
  const doc = JSON.parse(await readFile(join(ROOT, OPENAPI_PATH), 'utf8'))
  const upload = doc.paths['/api/upload/'].post
  const body = upload.requestBody.content['multipart/form-data'].schema
  t.same(body.required, ['phone_number', 'images'])
  t.equal(body.properties.images.items.format, 'binary')
  t.same(Object.keys(upload.responses).sort(), ['200', '202', '400', '413', '415', '500', '503'])
  const getPhone = doc.paths['/api/get-phone/'].get
  t.same(Object.keys(getPhone.responses).sort(), ['200', '400', '404', '503'])
  for (const [name, operation] of [['upload', upload], ['get-phone', getPhone]]) {
    for (const [status, response] of Object.entries<{ content: Record<string, { schema: unknown, example: unknown }> }>(operation.responses)) {
      const json = response.content['application/json']!
      t.ok(json.schema, `${name} ${status} has a schema`)
      t.ok(json.example, `${name} ${status} has an example`)
    }
  }
  t.equal(upload.responses['400'].content['application/json'].example.message, 'Phone number and images are required.')
  t.equal(getPhone.responses['404'].content['application/json'].example.message, 'No images found for the provided phone number.')
  t.ok(doc.paths['/api/uploads/{upload_id}'])
})

t.test('Swagger UI is served at /docs', async t => {
  const { config } = await testEnv(t)
  const app = await build(t, config)
  const res = await app.inject({ method: 'GET', url: '/docs/' })
  t.equal(res.statusCode, 200)
  t.match(res.body, /swagger/i)
})
