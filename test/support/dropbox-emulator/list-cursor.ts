// A list_folder cursor. Dropbox's are opaque strings; this one is base64url JSON carrying all the
// position there is, so the emulator keeps no state per cursor and a cursor survives being
// stored by a client and handed back much later (or by another process).

export interface ListCursor {
  epoch: string // the journal's epoch when issued; resetCursors() starts a new one
  path: string // path_lower of the listed folder, '' for the root
  recursive: boolean
  limit: number // entries per page, for every page this cursor leads to
  listing: boolean // still paging the first listing (the tree at upTo, without deletions)
  after: number // changes after this sequence number...
  upTo: number // ...up to this one: the set being paged
  offset: number // entries of that set already returned; 0 with !listing: nothing being paged
}

export function encodeCursor (cursor: ListCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url')
}

// undefined for anything this emulator did not issue.
export function decodeCursor (text: string): ListCursor | undefined {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const c = value as Partial<Record<keyof ListCursor, unknown>>
  const counts = [c.limit, c.after, c.upTo, c.offset]
  if (typeof c.epoch !== 'string' || typeof c.path !== 'string' || typeof c.recursive !== 'boolean' ||
    typeof c.listing !== 'boolean' || !counts.every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) {
    return undefined
  }
  return value as ListCursor
}

// The cursor that follows the changes after seq, as list_folder/get_latest_cursor returns it.
export function restingCursor (cursor: Omit<ListCursor, 'listing' | 'after' | 'upTo' | 'offset'>, seq: number): ListCursor {
  return { ...cursor, listing: false, after: seq, upTo: seq, offset: 0 }
}
