// The storage contract (../contract.ts) against DropboxStorage through the Dropbox emulator, once
// per way put() uploads: sessions committed in batches (the default), one files/upload per file,
// and chunked sessions (every file above the chunk threshold).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../../src/config.ts'
import { createStorage } from '../../../src/storage/index.ts'
import { dropboxEmulator } from '../../helpers/dropbox.ts'
import { StoragePermanentError } from '../../../src/storage/errors.ts'
import { storageContract } from '../contract.ts'

const RETRY_AFTER_SECONDS = 7

const strategies: Record<string, Record<string, string>> = {
  batch: {},
  single: { DROPBOX_UPLOAD_STRATEGY: 'single' },
  chunked: { DROPBOX_CHUNK_THRESHOLD_BYTES: '1' }
}

for (const [strategy, env] of Object.entries(strategies)) {
  storageContract(t, `dropbox (${strategy})`, async t => {
    const { emulator, env: dropboxEnv } = await dropboxEmulator(t)
    const root = await mkdtemp(join(tmpdir(), 'dropbox-contract-'))
    t.teardown(() => rm(root, { recursive: true, force: true }))
    // Built as the service builds it (createStorage from the settings pointing at the emulator),
    // without the databases testEnv() brings, which storage does not use.
    const config = loadConfig({ ...dropboxEnv, ...env, DATA_DIR: join(root, 'files'), STAGING_DIR: join(root, 'staging'), LOG_LEVEL: 'silent' })
    const storage = createStorage(config)
    t.equal(storage.kind, 'dropbox')

    const entry = (path: string) => emulator.files().find(f => f.path_lower === path.toLowerCase())
    return {
      storage,
      readBack: path => entry(path) ? emulator.readFile(path) : Promise.resolve(undefined),
      list: async folder => emulator.files().filter(f => f.path_lower.startsWith(`/${folder.toLowerCase()}/`)).map(f => f.name),
      revision: async path => entry(path)?.rev ?? 'none',
      download: async url => {
        // A raw link on www.dropbox.com, fetched from the emulator standing in for it.
        const { hostname, searchParams } = new URL(url)
        if (hostname !== 'www.dropbox.com' || searchParams.get('raw') !== '1') throw new Error(`${url} is not a raw Dropbox link`)
        const res = await emulator.download(url)
        return { status: res.status, body: Buffer.from(await res.arrayBuffer()) }
      },
      // A change from outside, through the emulator's control route (POST /__emulator/add-file).
      replaceBehind: async (path, bytes) => {
        const res = await fetch(`${emulator.url}/__emulator/add-file?${new URLSearchParams({ path, mode: 'overwrite' })}`, { method: 'POST', body: bytes })
        if (!res.ok) throw new Error(`the emulator refused add-file: ${res.status} ${await res.text()}`)
      },
      // Dropbox refuses ".." in a path (path_lookup/malformed_path), a refusal no retry changes.
      escapeRefusal: StoragePermanentError,
      // On Dropbox's ignored-files list: path/disallowed_name.
      refusedName: 'desktop.ini',
      serverErrors: {
        on: () => emulator.configure({ serverErrors: { remaining: Number.MAX_SAFE_INTEGER, status: 503 } }),
        off: () => emulator.configure({ serverErrors: null })
      },
      // No commit admitted: every write (delete_v2 included) is 429 too_many_write_operations.
      rateLimit: {
        retryAfterMs: RETRY_AFTER_SECONDS * 1000,
        on: () => emulator.configure({ writeContention: { maxConcurrentCommits: 0, retryAfterSeconds: RETRY_AFTER_SECONDS } }),
        off: () => emulator.configure({ writeContention: null })
      }
    }
  })
}
