import { startDropboxEmulator, type DropboxEmulator, type Faults } from '../support/dropbox-emulator/index.ts'

interface Teardown {
  teardown: (fn: () => unknown) => void
}

/** A Dropbox emulator for one test, and the settings that point the service at it. */
export async function dropboxEmulator (t: Teardown, faults: Partial<Faults> = {}): Promise<{ emulator: DropboxEmulator, env: Record<string, string> }> {
  const emulator = await startDropboxEmulator({ faults })
  t.teardown(() => emulator.close())
  return {
    emulator,
    env: {
      DROPBOX_APP_KEY: emulator.appKey,
      DROPBOX_APP_SECRET: emulator.appSecret,
      DROPBOX_REFRESH_TOKEN: emulator.refreshToken,
      DROPBOX_API_BASE_URL: emulator.url,
      // Batches commit soon after the first entry, keeping tests quick.
      DROPBOX_BATCH_WINDOW_MS: '10',
      // The Dropbox sync stays out of tests that are not about it (their call counts, their files);
      // test/worker/dropbox-sync*.test.ts turn it on.
      DROPBOX_SYNC_INTERVAL_MS: '0'
    }
  }
}
