// `npm run create-api-key -- --name ios-app`: a new API key for a client app, printed once, alone
// on the last line (scripts can take it with `tail -n 1`); only its SHA-256 is stored.
// `--revoke NAME` revokes one for good, `--list` lists them. Reads the same settings as the
// service (MONGODB_URL, .env); through npm (scripts/run.sh), without MONGODB_URL it uses the
// database of a running `npm run dev`.
import { parseArgs } from 'node:util'
import { createConnection } from 'mongoose'
import { API_KEY_NAME_RULE } from '../src/core/api-key.ts'
import { ConfigError, loadConfig } from '../src/config.ts'
import { ApiKeyError, ApiKeyStore } from '../src/plugins/api-key-store.ts'

const USAGE = `usage: npm run create-api-key -- --name NAME     create a key (printed once, on the last line)
       npm run create-api-key -- --revoke NAME   revoke a key for good
       npm run create-api-key -- --list          list the keys

${API_KEY_NAME_RULE} Names are unique, revoked keys' included.
Apps send the key as \`Authorization: Bearer <key>\` or \`X-API-Key: <key>\`.`

class UsageError extends Error {}
class UnreachableError extends Error {}

function withoutCredentials (url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//')
}

const iso = (date: Date | undefined): string => date?.toISOString() ?? '-'

async function main (): Promise<number> {
  let values
  try {
    ({ values } = parseArgs({
      options: {
        name: { type: 'string' },
        revoke: { type: 'string' },
        list: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false }
      }
    }))
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  if (values.help) {
    console.log(USAGE)
    return 0
  }
  const chosen = [values.name !== undefined, values.revoke !== undefined, values.list].filter(Boolean).length
  if (chosen !== 1) throw new UsageError('give exactly one of --name NAME, --revoke NAME and --list')

  const config = loadConfig()
  const connection = await createConnection(config.mongodbUrl, { serverSelectionTimeoutMS: 5000, autoIndex: false }).asPromise()
    .catch((err: unknown) => {
      throw new UnreachableError(`cannot reach MongoDB at ${withoutCredentials(config.mongodbUrl)} (${(err as Error).message}).\n` +
        'Start the local databases with `npm run dev` (in another terminal), or set MONGODB_URL (environment or .env).')
    })
  try {
    const keys = await ApiKeyStore.open(connection, { cacheMs: 0 })
    if (values.list) {
      const all = await keys.list()
      if (all.length === 0) console.log('No API keys yet.')
      for (const k of all) console.log(`${k.name}\tcreated ${iso(k.createdAt)}\tlast used ${iso(k.lastUsedAt)}\t${k.revokedAt ? `revoked ${iso(k.revokedAt)}` : 'active'}`)
      return 0
    }
    if (values.revoke !== undefined) {
      const { summary, alreadyRevoked } = await keys.revokeByName(values.revoke)
      if (alreadyRevoked) {
        console.log(`The API key '${summary.name}' was already revoked (${iso(summary.revokedAt)}).`)
      } else {
        console.log(`Revoked the API key '${summary.name}'. ` +
          `The API stops accepting it ${config.apiAuth.keyCacheSeconds === 0 ? 'at once' : `within ${config.apiAuth.keyCacheSeconds} seconds`} (API_KEY_CACHE_SECONDS).`)
      }
      return 0
    }
    const { key, summary } = await keys.create(values.name!)
    console.log(`Created the API key '${summary.name}'. It is shown only this once: store it now (it is kept hashed).`)
    console.log('Apps send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`.')
    console.log(key)
    return 0
  } finally {
    await connection.close()
  }
}

main().then(code => process.exit(code), (err: unknown) => {
  if (err instanceof UsageError) {
    console.error(`create-api-key: ${err.message}\n\n${USAGE}`)
    process.exit(2)
  }
  if (err instanceof ApiKeyError || err instanceof ConfigError || err instanceof UnreachableError) {
    console.error(`create-api-key: ${err.message}`)
  } else {
    console.error('create-api-key failed:', err)
  }
  process.exit(1)
})
