import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import openapiTS, { astToString } from 'openapi-typescript'
import t from 'tap'
import { OPENAPI_PATH } from '../../src/http/openapi.ts'
import { ROOT } from '../../scripts/lib/services.ts'

// What a client generated from openapi/openapi.json (openapi-typescript) gets: a small fetch-based
// program that uploads, follows a pending file and looks the images up must type-check against
// it, with the named schemas, and the lines marked @ts-expect-error must not (tsc fails on an
// unused one): a 200's results are stored files, whose image_url is a string, never null.
const PROGRAM = `
import type { components, paths } from './api.js'

type UploadResult = components['schemas']['UploadResult']
type PendingUploadResult = components['schemas']['PendingUploadResult']
type FailedUploadResult = components['schemas']['FailedUploadResult']
type ApiError = components['schemas']['Error']
type Upload = paths['/api/upload/']['post']
type Uploaded = Upload['responses'][200]['content']['application/json']
type Accepted = Upload['responses'][202]['content']['application/json']
type Failed = Upload['responses'][500]['content']['application/json']
type Unavailable = Upload['responses'][503]
type PhoneImages = paths['/api/get-phone/']['get']['responses'][200]['content']['application/json']
type PhoneQuery = NonNullable<paths['/api/get-phone/']['get']['parameters']['query']>
type Status = paths['/api/uploads/{upload_id}']['get']['responses'][200]['content']['application/json']
type StatusPath = paths['/api/uploads/{upload_id}']['get']['parameters']['path']

type Outcome =
  | { kind: 'stored', results: UploadResult[] }
  | { kind: 'accepted', stored: UploadResult[], pending: PendingUploadResult[] }
  | { kind: 'failed', failed: FailedUploadResult[], message: string }
  | { kind: 'retry', afterSeconds: number }
  | { kind: 'refused', message: string }

export async function upload (base: string, phoneNumber: string, images: Blob[]): Promise<Outcome> {
  const form = new FormData()
  form.append('phone_number', phoneNumber)
  images.forEach((image, i) => { form.append('images', image, \`image\${i}.png\`) })
  const res = await fetch(\`\${base}/api/upload/\`, { method: 'POST', body: form })
  switch (res.status) {
    case 200: {
      const body: Uploaded = await res.json()
      const urls: string[] = body.results.map(result => result.image_url)
      console.log(body.phone_number, urls)
      return { kind: 'stored', results: body.results }
    }
    case 202: {
      const body: Accepted = await res.json()
      const pending = body.results.filter((r): r is PendingUploadResult => r.status === 'pending')
      const stored = body.results.filter((r): r is UploadResult => r.status === 'uploaded')
      return { kind: 'accepted', stored, pending }
    }
    case 500: {
      const body: Failed = await res.json()
      const failed = (body.results ?? []).filter((r): r is FailedUploadResult => r.status === 'failed')
      return { kind: 'failed', failed, message: failed.map(r => \`\${r.filename}: \${r.error}\`).join('; ') || body.message }
    }
    case 503: {
      const retryAfter: Unavailable['headers']['Retry-After'] = Number(res.headers.get('retry-after') ?? 5)
      return { kind: 'retry', afterSeconds: retryAfter ?? 5 }
    }
    default: {
      const body: ApiError = await res.json()
      return { kind: 'refused', message: body.message }
    }
  }
}

/** The file's URL once stored, null while pending; throws why it failed. */
export async function urlOf (base: string, uploadId: StatusPath['upload_id']): Promise<string | null> {
  const res = await fetch(\`\${base}/api/uploads/\${encodeURIComponent(uploadId)}\`)
  if (res.status !== 200) throw new Error(((await res.json()) as ApiError).message)
  const status: Status = await res.json()
  switch (status.status) {
    case 'uploaded': return status.image_url
    case 'pending': return status.image_url
    case 'failed': throw new Error(status.error)
  }
}

export async function lookUp (base: string, query: PhoneQuery): Promise<Array<[name: string, url: string]>> {
  const res = await fetch(\`\${base}/api/get-phone/?\${new URLSearchParams(query as Record<string, string>)}\`)
  if (res.status === 404) return []
  if (res.status !== 200) throw new Error(((await res.json()) as ApiError).message)
  const body: PhoneImages = await res.json()
  return Object.entries(body.image_urls)
}

export async function uploadThenLookUp (base: string, image: Blob): Promise<string[]> {
  const outcome = await upload(base, '1234567890', [image])
  if (outcome.kind === 'accepted') {
    for (const file of outcome.pending) await urlOf(base, file.upload_id)
  }
  return (await lookUp(base, { phone_number: '1234567890' })).map(([, url]) => url)
}

// What the document must rule out.
declare const uploaded: Uploaded
const first: UploadResult = uploaded.results[0]!
// @ts-expect-error a 200 result is a stored file: its URL is a string, never null
first.image_url = null
// @ts-expect-error a 200 result is a stored file, never pending
const notPending: Uploaded['results'][number]['status'] = 'pending'
// @ts-expect-error a 202 has no failed file (one failed file makes it a 500)
const notFailed: Accepted['results'][number]['status'] = 'failed'
// @ts-expect-error a failed file always says why
const noReason: FailedUploadResult = { filename: 'a.png', message: 'failed', image_url: null, status: 'failed', upload_id: '6761a2f5c3b1e24d8f0a9b7c' }
// @ts-expect-error a pending file has no URL yet
const pendingUrl: PendingUploadResult['image_url'] = 'https://example.org/a.png'
console.log(notPending, notFailed, noReason, pendingUrl)
`

const TSCONFIG = {
  compilerOptions: {
    target: 'es2024',
    lib: ['es2024', 'dom', 'dom.iterable'],
    module: 'nodenext',
    moduleResolution: 'nodenext',
    types: [],
    strict: true,
    noEmit: true,
    noUncheckedIndexedAccess: true,
    noUnusedLocals: false
  },
  files: ['client.ts']
}

function tsc (project: string): Promise<{ code: number | null, output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project, '--pretty', 'false'], { cwd: project })
    let output = ''
    child.stdout.on('data', chunk => { output += chunk })
    child.stderr.on('data', chunk => { output += chunk })
    child.once('error', reject)
    child.once('close', code => resolve({ code, output }))
  })
}

t.test('a TypeScript client generated from the document uploads and looks up with the named types', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'openapi-client-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const types = astToString(await openapiTS(new URL(`file://${join(ROOT, OPENAPI_PATH)}`)))

  // The responses are the named schemas, not copies of them.
  t.match(types, /\n {8}UploadResult: \{/, 'UploadResult is a named type')
  t.match(types, /\n {8}Error: \{/, 'Error is a named type')
  t.match(types, /"application\/json": components\["schemas"\]\["UploadResponse"\];/, 'the 200 is an UploadResponse')
  t.match(types, /"application\/json": components\["schemas"\]\["Error"\];/, 'the errors are Error')
  t.match(types, /"Retry-After"\?: number;/, 'a 503 says when to retry')

  await writeFile(join(dir, 'api.d.ts'), types)
  await writeFile(join(dir, 'client.ts'), PROGRAM)
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }))
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG))
  const { code, output } = await tsc(dir)
  t.equal(output.trim(), '', 'tsc reports nothing')
  t.equal(code, 0, 'the client type-checks')
})
