import t from 'tap'
import { apiKeyHash } from '../../src/core/api-key.ts'
import { apiKeyModel } from '../../src/models/api-key.ts'
import { spawnNode } from '../../scripts/lib/spawn.ts'
import { build } from '../helpers/build.ts'
import { testEnv } from '../helpers/config.ts'

t.test('npm run create-api-key creates a key, printed alone on the last line, and revokes it', async t => {
  // No cache: the CLI's revocation must show in this process's answers at once.
  const { config, env } = await testEnv(t, { API_AUTH: 'required', API_KEY_CACHE_SECONDS: '0' })
  const run = async (...args: string[]) => {
    const child = spawnNode('create-api-key', 'scripts/create-api-key.ts', { env: { ...process.env, ...env }, args })
    let stdout = ''
    child.process.stdout!.on('data', (d: Buffer) => { stdout += d })
    const code = await child.exited
    return { code, stdout, output: child.output() }
  }

  const created = await run('--name', 'iOS-App')
  t.equal(created.code, 0, created.output)
  const key = created.stdout.trimEnd().split('\n').at(-1)!
  t.match(key, /^iuk_[A-Za-z0-9_-]{43}$/)
  const app = await build(t, config)
  const record = await apiKeyModel(app.db.connection).findOne({}).lean()
  t.equal(record?.name, 'ios-app', 'names are lower case')
  t.equal(record?.key_hash, apiKeyHash(key), 'only the hash is stored')
  const lookup = () => app.inject({ method: 'GET', url: '/api/get-phone/?phone_number=1', headers: { authorization: `Bearer ${key}` } })
  t.equal((await lookup()).statusCode, 404, 'the API accepts it')

  const taken = await run('--name', 'ios-app')
  t.equal(taken.code, 1)
  t.match(taken.output, /already exists/)

  const revoked = await run('--revoke', 'ios-app')
  t.equal(revoked.code, 0, revoked.output)
  t.match(revoked.stdout, /Revoked the API key 'ios-app'/)
  t.equal((await lookup()).statusCode, 401, 'the API refuses it')
  t.match((await run('--list')).stdout, /^ios-app\t.*\trevoked /m)

  const unknown = await run('--revoke', 'nope')
  t.equal(unknown.code, 1)
  t.match(unknown.output, /no API key named 'nope'/)
})
