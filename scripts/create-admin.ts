// `npm run create-admin -- --username alice`: creates an admin panel account (Django's
// createsuperuser): a superuser, unless --no-superuser. Asks for the password twice without echo,
// or reads it from standard input with --password-stdin (for scripts). --update sets a new
// password on an existing account and ends its sessions (and, given --superuser or
// --no-superuser, changes that too). Reads the same settings as the service (MONGODB_URL, .env); through npm
// (scripts/run.sh), without MONGODB_URL it uses the database of a running `npm run dev`.
import { parseArgs } from 'node:util'
import { createConnection } from 'mongoose'
import { AccountError, AdminAccounts } from '../src/admin/auth/accounts.ts'
import { ADMIN_PASSWORD_MIN_LENGTH, normalizeUsername, passwordProblem } from '../src/core/admin-account-rules.ts'
import { ConfigError, loadConfig } from '../src/config.ts'
import { adminUserModel } from '../src/models/admin-user.ts'

const USAGE = `usage: npm run create-admin -- --username NAME [--password-stdin] [--update] [--no-superuser]

  --username NAME     the account name (letters, digits and @ . + - _; case-insensitive)
  --password-stdin    read the password from standard input instead of asking for it
  --update            set a new password on an existing account (its sessions end)
  --no-superuser      an operator who cannot manage admin accounts (new accounts are superusers);
                      with --update, --superuser or --no-superuser also changes an account's role

The password must be at least ${ADMIN_PASSWORD_MIN_LENGTH} characters long.`

class UsageError extends Error {}
class UnreachableError extends Error {}

/** The URL as it may be shown: without a password. */
function withoutCredentials (url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//')
}

/** Reads one line from the terminal without showing what is typed. */
function askHidden (prompt: string): Promise<string> {
  const { stdin, stderr } = process
  stderr.write(prompt)
  stdin.setRawMode(true)
  stdin.resume()
  stdin.setEncoding('utf8')
  let typed = ''
  return new Promise((resolve, reject) => {
    const done = (finish: () => void): void => {
      stdin.setRawMode(false)
      stdin.pause()
      stdin.removeListener('data', onData)
      stderr.write('\n')
      finish()
    }
    const onData = (chunk: string): void => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return done(() => resolve(typed))
        if (char === '\u0003' || char === '\u0004') return done(() => reject(new UsageError('cancelled')))
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1)
        else typed += char
      }
    }
    stdin.on('data', onData)
  })
}

async function readStdin (): Promise<string> {
  let text = ''
  for await (const chunk of process.stdin) text += chunk
  // One trailing newline belongs to `echo`, not to the password.
  return text.replace(/\r?\n$/, '')
}

async function password (fromStdin: boolean): Promise<string> {
  if (fromStdin) return readStdin()
  if (!process.stdin.isTTY) throw new UsageError('no terminal to ask for the password on: pipe it in with --password-stdin')
  for (;;) {
    const first = await askHidden('Password: ')
    const problem = passwordProblem(first)
    if (problem) {
      process.stderr.write(`${problem}\n`)
      continue
    }
    if (await askHidden('Password (again): ') === first) return first
    process.stderr.write('The passwords do not match. Try again.\n')
  }
}

async function main (): Promise<number> {
  const { values } = parseArgs({
    options: {
      username: { type: 'string' },
      'password-stdin': { type: 'boolean', default: false },
      update: { type: 'boolean', default: false },
      // No default: with --update, absent means "leave the role as it is".
      superuser: { type: 'boolean' },
      help: { type: 'boolean', short: 'h', default: false }
    },
    allowNegative: true
  })
  if (values.help) {
    console.log(USAGE)
    return 0
  }
  if (!values.username) throw new UsageError('--username is required')
  const username = normalizeUsername(values.username)
  if (!username) throw new UsageError('a username is 1 to 150 letters, digits and @ . + - _ characters')

  const config = loadConfig()
  const secret = await password(values['password-stdin'])
  const connection = await createConnection(config.mongodbUrl, { serverSelectionTimeoutMS: 5000, autoIndex: false }).asPromise()
    .catch((err: unknown) => {
      throw new UnreachableError(`cannot reach MongoDB at ${withoutCredentials(config.mongodbUrl)} (${(err as Error).message}).\n` +
        'Start the local databases with `npm run dev` (in another terminal), or set MONGODB_URL (environment or .env).')
    })
  try {
    const users = adminUserModel(connection)
    await users.createIndexes()
    const accounts = new AdminAccounts(users)
    if (values.update) {
      await accounts.setPassword(username, secret)
      if (values.superuser !== undefined) await accounts.setSuperuser(username, values.superuser)
      console.log(`Password of admin account '${username}' changed; its sessions have ended.${values.superuser === undefined ? '' : values.superuser ? ' It is a superuser.' : ' It is not a superuser.'}`)
    } else {
      const superuser = values.superuser ?? true
      await accounts.create(username, secret, { superuser })
      console.log(`Admin ${superuser ? 'superuser' : 'account'} '${username}' created. Log in at ${config.publicBaseUrl}/admin/`)
    }
    return 0
  } finally {
    await connection.close()
  }
}

main().then(code => process.exit(code), (err: unknown) => {
  if (err instanceof UsageError) {
    console.error(`create-admin: ${err.message}\n\n${USAGE}`)
    process.exit(2)
  }
  if (err instanceof AccountError || err instanceof ConfigError || err instanceof UnreachableError) {
    console.error(`create-admin: ${err.message}`)
  } else {
    console.error('create-admin failed:', err)
  }
  process.exit(1)
})
