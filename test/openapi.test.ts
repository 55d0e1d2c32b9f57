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

interface Operation {
  operationId: string
  responses: Record<string, {
    headers?: Record<string, unknown>
    content?: Record<string, { schema: { $ref?: string }, example?: unknown, examples?: Record<string, { value: unknown }> }>
  }>
}

t.test('the document describes both endpoints, the multipart body and every response', async t => {
  const doc = JSON.parse(await readFile(join(ROOT, OPENAPI_PATH), 'utf8'))
  const upload = doc.paths['/api/upload/'].post
  const body = upload.requestBody.content['multipart/form-data'].schema
  t.same(body.required, ['phone_number', 'images'])
  t.equal(body.properties.images.items.format, 'binary')
  t.same(Object.keys(upload.responses).sort(), ['200', '202', '400', '413', '415', '422', '500', '503'])
  const getPhone = doc.paths['/api/get-phone/'].get
  t.same(Object.keys(getPhone.responses).sort(), ['200', '400', '404', '503'])
  t.ok(doc.paths['/api/uploads/{upload_id}'])
  const operations: Operation[] = Object.values(doc.paths).flatMap(path => Object.values(path as Record<string, Operation>))
  t.same(operations.map(o => o.operationId).sort(), [
    'getHealth', 'getImage', 'getImageRendering', 'getLiveness', 'getPhoneImages', 'getReadiness', 'getUploadStatus',
    'tusCreateUpload', 'tusGetOffset-head', 'tusOptions', 'tusTerminateUpload', 'tusUploadBytes',
    'uploadImages'
  ])
  for (const { operationId, responses } of operations) {
    for (const [status, response] of Object.entries(responses)) {
      if (response.content === undefined) {
        // Only tus's answers without a body: 201 and 204, and HEAD's; and the image URLs' 304.
        t.ok(['201', '204'].includes(status) || operationId.endsWith('-head') || (status === '304' && operationId.startsWith('getImage')), `${operationId} ${status} has no body`)
        continue
      }
      if (response.content['application/json'] === undefined) {
        // The image URLs' 200 and 206: the bytes, with their ETag.
        t.ok(operationId.startsWith('getImage') && ['200', '206'].includes(status), `${operationId} ${status}: bytes`)
        t.ok(Object.keys(response.content).every(type => type.startsWith('image/')), `${operationId} ${status}: image types`)
        t.ok(response.headers?.ETag, `${operationId} ${status} has an ETag`)
        continue
      }
      const json = response.content['application/json']!
      t.ok(json.schema, `${operationId} ${status} has a schema`)
      t.ok(json.example ?? json.examples, `${operationId} ${status} has an example`)
      // Every 503 (and 429) of the API, the error handler's, says when to retry; /health's 503 is its own.
      if (['429', '503'].includes(status) && json.schema.$ref === '#/components/schemas/Error') t.ok(response.headers?.['Retry-After'], `${operationId} ${status} has Retry-After`)
    }
  }
  t.equal(upload.responses['400'].content['application/json'].example.message, 'Phone number and images are required.')
  t.equal(getPhone.responses['404'].content['application/json'].example.message, 'No images found for the provided phone number.')
})

t.test('the bodies are named schemas, and a 200 holds only stored files', async t => {
  const doc = JSON.parse(await readFile(join(ROOT, OPENAPI_PATH), 'utf8'))
  const schemas = doc.components.schemas
  t.same(Object.keys(schemas).sort(), [
    'Error', 'FailedUploadResult', 'ImageUrls', 'PendingUploadResult', 'PhoneImage', 'PhoneImages', 'UploadAccepted', 'UploadFailed', 'UploadResponse', 'UploadResult', 'UploadStatus'
  ])
  const responses = doc.paths['/api/upload/'].post.responses
  const schemaOf = (status: string) => responses[status].content['application/json'].schema.$ref
  t.equal(schemaOf('200'), '#/components/schemas/UploadResponse')
  t.equal(schemaOf('202'), '#/components/schemas/UploadAccepted')
  t.equal(schemaOf('500'), '#/components/schemas/UploadFailed')
  t.equal(schemaOf('400'), '#/components/schemas/Error')
  t.same(schemas.UploadResponse.properties.results.items, { $ref: '#/components/schemas/UploadResult' })
  t.same(schemas.UploadResult.properties.image_url.type, 'string')
  t.same(schemas.UploadResult.properties.status.enum, ['uploaded'])
  t.same(schemas.PendingUploadResult.properties.image_url.type, 'null')
  t.ok(schemas.FailedUploadResult.required.includes('error'))
  t.same(doc.servers, [{ url: '/', description: 'This service' }])
  t.equal(doc.info.license.identifier, 'MIT')
})

t.test('Swagger UI is served at /docs', async t => {
  const { config } = await testEnv(t)
  const app = await build(t, config)
  const res = await app.inject({ method: 'GET', url: '/docs/' })
  t.equal(res.statusCode, 200)
  t.match(res.body, /swagger/i)
})
