// The PostgreSQL under the embedded FerretDB (EMBEDDED_DB=postgresql, the default; see
// startFerretDB in services.ts). FerretDB on PostgreSQL pushes equality filters down to SQL, so a
// lookup by phone number costs tens of milliseconds at 100,000 records instead of seconds on SQLite
// (BENCHMARKS.md, "The embedded database").
//
// - The cluster lives in <dataDir>/postgres: kept by `npm run dev` (.data/dev), thrown away by the
//   tests. It is a copy of a template cluster initialised once and cached under .local/postgres
//   (initdb takes 1.5–2 s; the copy a fifth of that).
// - Trust authentication, TCP on 127.0.0.1 only, the Unix socket inside the cluster's directory
//   (never /var/run/postgresql, which belongs to the machine's own PostgreSQL, if any).
// - PostgreSQL refuses to run as root: when the scripts run as root, initdb and the server run as
//   the `postgres` system user that Debian's package creates, owning the cluster's directory.
// - Stopped like `pg_ctl stop -m fast` (SIGINT to the postmaster), after FerretDB.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { accessSync, closeSync, constants, existsSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { chmod, chown, mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

import { ROOT } from './spawn.ts'

/**
 * The role FerretDB connects as, and the database it keeps its data in (initdb's own: the cluster
 * serves nothing else, and every database more is 7 MB more to copy).
 */
const PG_USER = 'ferretdb'
const PG_DATABASE = 'postgres'
/**
 * C locale and UTF-8: the only settings FerretDB 1.24 accepts (it checks them on connecting).
 * 1 MB WAL segments instead of 16: a new cluster is 24 MB to copy, not 39.
 */
const INITDB_ARGS = ['--auth=trust', `--username=${PG_USER}`, '--encoding=UTF8', '--locale=C', '--wal-segsize=1', '--no-instructions']
const TEMPLATES = join(ROOT, '.local/postgres')
const READY_TIMEOUT_MS = 60_000
/** A Unix socket path is limited to 107 bytes; beyond that the cluster runs with TCP only. */
const MAX_SOCKET_PATH = 100

export interface PostgresServer {
  name: 'postgres'
  /** postgres://ferretdb@127.0.0.1:<port>/ferretdb */
  url: string
  port: number
  process: ChildProcess
  /** The cluster's directory and the server's log. */
  dir: string
  logFile: string
  stop: () => Promise<void>
}

export interface PostgresOptions {
  port: number
  /**
   * false: fsync, synchronous commits and full-page writes off, for data nobody keeps (the
   * tests): a crash of the machine can corrupt the cluster, which is thrown away anyway.
   */
  durable: boolean
}

/**
 * The directory of PostgreSQL's server programs: POSTGRES_BIN_DIR, else the PATH's, else the
 * newest Debian/Ubuntu one (/usr/lib/postgresql/<major>/bin, which is not on the PATH).
 */
export function postgresBinDir (env: NodeJS.ProcessEnv = process.env): string {
  const has = (dir: string): boolean => ['postgres', 'initdb'].every(p => {
    try {
      accessSync(join(dir, p), constants.X_OK)
      return true
    } catch {
      return false
    }
  })
  if (env.POSTGRES_BIN_DIR) {
    if (has(env.POSTGRES_BIN_DIR)) return env.POSTGRES_BIN_DIR
    throw new Error(`POSTGRES_BIN_DIR=${env.POSTGRES_BIN_DIR} holds no postgres and initdb programs`)
  }
  const onPath = (env.PATH ?? '').split(delimiter).find(dir => dir !== '' && has(dir))
  if (onPath) return onPath
  const debian = '/usr/lib/postgresql'
  const majors = existsSync(debian) ? readdirSync(debian).filter(v => /^\d+(\.\d+)?$/.test(v)).sort((a, b) => Number(b) - Number(a)) : []
  const found = majors.map(v => join(debian, v, 'bin')).find(has)
  if (found) return found
  throw new Error('PostgreSQL server programs not found (initdb, postgres): install the Debian/Ubuntu package `postgresql` ' +
    '(npm run dev and npm test do when run as root), set POSTGRES_BIN_DIR, or use the SQLite backend with EMBEDDED_DB=sqlite')
}

interface Owner { uid: number, gid: number }

/** Whom PostgreSQL runs as: ourselves, or the `postgres` user when we are root. */
function serverOwner (): Owner | undefined {
  if (process.getuid?.() !== 0) return undefined
  try {
    const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim())
    return { uid: id('-u'), gid: id('-g') }
  } catch {
    throw new Error('PostgreSQL refuses to run as root, and this machine has no `postgres` user to run it as: install the Debian/Ubuntu ' +
      'package `postgresql` (it creates one), run as a normal user, or use EMBEDDED_DB=sqlite')
  }
}

/** Runs a program (as `owner` when given), failing with its output. */
function run (command: string, args: string[], owner: Owner | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    // cwd '/': the `postgres` user may not be allowed into ours (a 0700 temporary directory).
    const child = spawn(command, args, { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'], ...owner })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.once('error', reject)
    child.once('close', code => {
      if (code === 0) resolve(output)
      else reject(new Error(`${command} ${args.join(' ')} failed (exit ${code}):\n${output.slice(-2000)}`))
    })
  })
}

/**
 * A cluster initialised with INITDB_ARGS, built once per PostgreSQL version and owner under
 * .local/postgres and copied for each new cluster.
 */
async function template (bin: string, owner: Owner | undefined): Promise<string> {
  const version = execFileSync(join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).trim()
  const key = createHash('sha256').update(JSON.stringify([bin, version, INITDB_ARGS, owner?.uid ?? process.getuid?.()])).digest('hex').slice(0, 12)
  const dir = join(TEMPLATES, `template-${key}`)
  if (existsSync(join(dir, 'PG_VERSION'))) return dir
  // initdb runs in the temporary directory, which the `postgres` user can reach wherever the
  // checkout is (under /root, it could not); the result is copied into place by us, then
  // renamed: a concurrent run (another test suite) never sees half of one.
  const scratch = await mkdtemp(join(tmpdir(), 'image-upload-initdb-'))
  const building = `${dir}.${process.pid}.tmp`
  try {
    const initialised = join(scratch, 'cluster')
    await mkdir(initialised, { mode: 0o700 })
    if (owner) {
      await letOwnerIn(scratch)
      await chown(initialised, owner.uid, owner.gid)
    }
    await run(join(bin, 'initdb'), ['-D', initialised, ...INITDB_ARGS], owner)
    await mkdir(TEMPLATES, { recursive: true })
    await rm(building, { recursive: true, force: true })
    await run('cp', ['-a', initialised, building], undefined)
    await rename(building, dir).catch(async (err: NodeJS.ErrnoException) => {
      if (!existsSync(join(dir, 'PG_VERSION'))) throw err
    })
  } finally {
    await rm(scratch, { recursive: true, force: true })
    await rm(building, { recursive: true, force: true })
  }
  return dir
}

/**
 * How long initdb takes here (what the cached template saves each new cluster), run in a scratch
 * directory under `dataDir` that is removed after. For the benchmarks.
 */
export async function timeInitdb (dataDir: string): Promise<number> {
  const bin = postgresBinDir()
  const owner = serverOwner()
  const dir = join(dataDir, `initdb-${process.pid}`)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  if (owner) {
    await letOwnerIn(dataDir)
    await chown(dir, owner.uid, owner.gid)
  }
  const started = performance.now()
  try {
    await run(join(bin, 'initdb'), ['-D', dir, ...INITDB_ARGS], owner)
    return performance.now() - started
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Lets the `postgres` user reach the cluster inside `dir` (mkdtemp makes directories 0700). */
async function letOwnerIn (dir: string): Promise<void> {
  const { mode } = await stat(dir)
  if ((mode & 0o001) === 0) await chmod(dir, (mode & 0o7777) | 0o001)
}

/** Whether the `postgres` user may pass through every directory above `dir`. */
async function reachable (dir: string, owner: Owner): Promise<boolean> {
  for (let at = dirname(dir); ; at = dirname(at)) {
    const { mode, uid, gid } = await stat(at)
    const may = uid === owner.uid ? mode & 0o100 : gid === owner.gid ? mode & 0o010 : mode & 0o001
    if (!may) return false
    if (at === dirname(at)) return true
  }
}

/**
 * Where the cluster of `dataDir` lives: inside it, or - when the `postgres` user may not enter
 * the checkout (a clone under /root, which is 0700) - in a directory of its own under /var/tmp
 * named after `dataDir`, so that it still survives restarts of `npm run dev`.
 */
async function clusterHome (dataDir: string, owner: Owner | undefined): Promise<string> {
  if (!owner || await reachable(dataDir, owner)) return dataDir
  const home = join('/var/tmp', `image-upload-postgres-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`)
  await mkdir(home, { recursive: true })
  await letOwnerIn(home)
  console.error(`[postgres] the postgres user may not enter ${dataDir}; its cluster lives in ${home}`)
  return home
}

/** The cluster in <dataDir>/postgres, made from the template when there is none yet. */
async function cluster (dataDir: string, bin: string, owner: Owner | undefined): Promise<string> {
  await mkdir(dataDir, { recursive: true })
  if (owner) await letOwnerIn(dataDir)
  const dir = join(await clusterHome(dataDir, owner), 'postgres')
  if (existsSync(join(dir, 'PG_VERSION'))) {
    // A cluster made by a run as another user (a normal user before, root now): the server
    // must own it.
    if (owner && statSync(dir).uid !== owner.uid) await run('chown', ['-R', `${owner.uid}:${owner.gid}`, dir], undefined)
    return dir
  }
  const copy = `${dir}.${process.pid}.tmp`
  await rm(copy, { recursive: true, force: true })
  // cp -a keeps the owner (root may) and the 0700 mode PostgreSQL insists on.
  await run('cp', ['-a', await template(bin, owner), copy], undefined)
  await rm(dir, { recursive: true, force: true })
  await rename(copy, dir)
  return dir
}

/** Waits until the postmaster says "ready" in its postmaster.pid, as `pg_ctl start -w` does. */
async function waitReady (child: ChildProcess, dir: string, logFile: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  const failure = async (why: string): Promise<Error> => {
    const log = await readFile(logFile, 'utf8').catch(() => '')
    return new Error(`PostgreSQL ${why}; end of ${logFile}:\n${log.split('\n').slice(-15).join('\n')}`)
  }
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw await failure(`exited (${child.exitCode ?? child.signalCode}) while starting`)
    try {
      const lines = readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')
      if (Number(lines[0]) === child.pid && lines[7]?.trim() === 'ready') return
    } catch {}
    await sleep(20)
  }
  child.kill('SIGQUIT')
  throw await failure(`did not get ready within ${READY_TIMEOUT_MS / 1000} s`)
}

/** Stops like `pg_ctl stop -m fast`: SIGINT, then immediate (SIGQUIT), then SIGKILL. */
function stopper (child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise(resolve => child.once('exit', resolve))
    // Unref'd timers: a process that stopped its PostgreSQL may exit before they run out.
    const within = (ms: number) => Promise.race([exited.then(() => true), sleep(ms, undefined, { ref: false }).then(() => false)])
    child.kill('SIGINT')
    if (await within(30_000)) return
    child.kill('SIGQUIT')
    if (await within(5000)) return
    child.kill('SIGKILL')
    await exited
  }
}

/** PostgreSQL with its cluster in <dataDir>/postgres, listening on 127.0.0.1:<port>. */
export async function startPostgres (dataDir: string, options: PostgresOptions): Promise<PostgresServer> {
  const bin = postgresBinDir()
  const owner = serverOwner()
  const dir = await cluster(dataDir, bin, owner)
  const { port } = options
  const socketDir = join(dir, `.s.PGSQL.${port}`).length <= MAX_SOCKET_PATH ? dir : ''
  const args = ['-D', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${socketDir}`]
  if (!options.durable) args.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off')
  const logFile = join(dataDir, 'postgres.log')
  const log = openSync(logFile, 'w')
  // Own process group, like the other databases: a Ctrl-C reaches the launcher, which stops
  // PostgreSQL after FerretDB.
  const child = spawn(join(bin, 'postgres'), args, { cwd: '/', stdio: ['ignore', log, log], detached: true, ...owner })
  closeSync(log)
  if (child.pid === undefined) throw new Error(`could not run ${join(bin, 'postgres')}`)
  // Never outlive the launcher: an immediate shutdown also ends the server's own processes.
  process.once('exit', () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT') })
  child.on('error', err => { console.error(`postgres: ${err.message}`) })
  await waitReady(child, dir, logFile)
  return { name: 'postgres', url: `postgres://${PG_USER}@127.0.0.1:${port}/${PG_DATABASE}`, port, process: child, dir, logFile, stop: stopper(child) }
}
