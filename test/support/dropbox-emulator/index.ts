import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { BlobStore } from './blob-store.ts'
import { EmulatorState } from './emulator-state.ts'
import { resolveOptions } from './options.ts'
import { addFile, addFolder, deletePath, movePath } from './outside-changes.ts'
import { createEmulatorServer } from './server.ts'
import { readStoredFile, storedFiles } from './stored-files.ts'
import type { DropboxEmulator, EmulatorOptions } from './types.ts'

export type * from './types.ts'
export { CONTENT_HASH_BLOCK_SIZE, ContentHasher, contentHash, contentHashOfFile } from './content-hash.ts'
export { DEFAULT_FAULTS } from './options.ts'
export { OutsideChangeError } from './outside-changes.ts'
export { signature as webhookSignature } from './webhooks.ts'

// An in-process Dropbox API v2 emulator on plain node:http. Point the SDK at `url` with
// redirectingFetch(url) from src/storage/dropbox/fetch.ts.
export async function startDropboxEmulator (options: Partial<EmulatorOptions> = {}): Promise<DropboxEmulator> {
  const resolved = resolveOptions(options)
  const store = await BlobStore.create()
  const state = new EmulatorState(resolved, store)
  const server = createEmulatorServer(state)
  server.listen(resolved.port, resolved.host)
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  const host = resolved.host === '0.0.0.0' || resolved.host === '::' ? '127.0.0.1' : resolved.host
  state.url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`

  return {
    url: state.url,
    appKey: resolved.appKey,
    appSecret: resolved.appSecret,
    refreshToken: resolved.refreshToken,
    counters: state.counters,
    configure: (faults) => state.configure(faults),
    faults: () => structuredClone(state.faults),
    expireAccessTokens: () => state.tokens.expireAll(),
    files: () => storedFiles(state),
    readFile: (path) => readStoredFile(state, path),
    // A shared-link URL (https://www.dropbox.com/scl/...) fetched from the emulator instead.
    download: (link, init) => {
      const target = new URL(link)
      const base = new URL(state.url)
      target.protocol = base.protocol
      target.host = base.host
      return fetch(target, { redirect: 'follow', ...init })
    },
    accountId: resolved.accountId,
    userId: resolved.userId,
    addFile: (path, contents, options) => addFile(state, path, contents, options),
    addFolder: (path) => addFolder(state, path),
    deletePath: (path) => deletePath(state, path),
    movePath: (fromPath, toPath, options) => movePath(state, fromPath, toPath, options?.autorename),
    resetCursors: () => state.resetCursors(),
    configureWebhook: (settings) => state.configureWebhook(settings),
    webhook: () => state.webhooks.settings,
    sendWebhook: () => state.webhooks.send('valid'),
    sendForgedWebhook: () => state.webhooks.send('forged'),
    close: async () => {
      await state.webhooks.close()
      const closed = once(server, 'close')
      server.close()
      server.closeAllConnections()
      await closed
      await store.destroy()
    }
  }
}
