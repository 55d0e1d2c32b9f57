// The first sync over a large Dropbox: 10,000 photos in 500 phone-number folders, read in pages
// (list_folder, then list_folder/continue) of Dropbox's largest size. Prints its time and calls;
// `npm run bench -- dropbox-sync` measures the same on its own (BENCHMARKS.md).
import t from 'tap'
import { testEnv } from '../helpers/config.ts'
import { dropboxEmulator } from '../helpers/dropbox.ts'
import { appFilesIn, dropboxRecords, fillDropbox, syncHarness } from '../helpers/dropbox-sync.ts'

const FILES = 10_000
const FOLDERS = 500
const PAGE = 2000

t.test(`a first sync over ${FILES} files in ${FOLDERS} folders is paged`, async t => {
  const { emulator, env } = await dropboxEmulator(t)
  const { config } = await testEnv(t, env)
  const sync = await syncHarness(t, config)
  await fillDropbox(emulator, { files: FILES, folders: FOLDERS })
  emulator.counters.reset()

  const started = performance.now()
  const outcome = await sync.run()
  const seconds = (performance.now() - started) / 1000
  const calls = { ...emulator.counters.calls }
  t.comment(`first sync of ${FILES} files in ${FOLDERS} folders: ${seconds.toFixed(1)} s; Dropbox calls ${JSON.stringify(calls)}`)

  // The listing holds the folders too: 10,500 entries, pages of 2,000.
  const pages = Math.ceil((FILES + FOLDERS) / PAGE)
  t.match(outcome, { fullListing: true, pages, created: FILES, updated: 0, deleted: 0, deferred: 0 })
  t.equal(calls['files/list_folder'], 1, 'one list_folder')
  t.equal(calls['files/list_folder/continue'], pages - 1, `${pages - 1} list_folder/continue`)
  t.equal(emulator.counters.listFolderEntries, FILES + FOLDERS, 'every entry read once')
  t.equal(calls['sharing/create_shared_link_with_settings'], FILES, 'one shared link per file')
  t.same(await dropboxRecords(sync.db), appFilesIn(emulator), 'a record for every file')

  // The next run reads the changes since: one call, nothing to do.
  emulator.counters.reset()
  t.match(await sync.run(), { fullListing: false, pages: 1, created: 0 })
  t.same(emulator.counters.calls, { 'files/list_folder/continue': 1 }, 'one continue, nothing else')
})
