import type { Connection } from 'mongoose'

// FerretDB (the embedded database of `npm run dev` and the tests) never sorts with an index: the
// list's first page sorts every matching record in FerretDB's own code (on PostgreSQL: 50–80 ms
// at 1,000 records, 0.44–0.61 s at 10,000, 6–14 s at 100,000; BENCHMARKS.md, "The embedded
// database"). The list says so there, so that nobody takes the development database's slowness
// for the service's: production runs MongoDB, whose (column, _id) indexes serve any page in
// milliseconds. Only a note: the queries are the same on both, nothing depends on which answers.

const known = new WeakMap<Connection, Promise<string | undefined>>()

/** FerretDB's version when the connection's server is FerretDB (its buildInfo says so), else undefined. */
export function ferretdbVersion (connection: Connection): Promise<string | undefined> {
  let version = known.get(connection)
  if (version === undefined) {
    version = connection.db!.admin().command({ buildInfo: 1 }).then(
      info => typeof info.ferretdbVersion === 'string' ? info.ferretdbVersion : undefined,
      () => {
        // Unknown for now (the database is down): asked again next time.
        known.delete(connection)
        return undefined
      })
    known.set(connection, version)
  }
  return version
}

/** The list's note on FerretDB. */
export const FERRETDB_LIST_NOTE = 'This database is FerretDB, the development stand-in for MongoDB: it sorts every matching record for each page, ' +
  'so pages slow down as records grow (about half a second at 10,000, 6 to 14 seconds at 100,000). Production uses MongoDB, whose indexes keep every page fast.'
