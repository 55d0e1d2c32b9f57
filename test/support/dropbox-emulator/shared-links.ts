import { randomBytes } from 'node:crypto'
import type { Entry } from './namespace.ts'

export interface SharedLink {
  linkId: string
  rlkey: string // the key that grants access; a URL without it does not open
  st: string
  targetId: string
  kind: 'file' | 'folder'
}

// One link per file or folder, as create_shared_link_with_settings keeps; it follows the file's
// id, so an overwrite keeps the link and a delete kills it.
export class SharedLinks {
  #byTarget = new Map<string, SharedLink>()
  #byLinkId = new Map<string, SharedLink>()

  forTarget (id: string): SharedLink | undefined {
    return this.#byTarget.get(id)
  }

  get (linkId: string): SharedLink | undefined {
    return this.#byLinkId.get(linkId)
  }

  all (): SharedLink[] {
    return [...this.#byLinkId.values()]
  }

  create (entry: Entry): SharedLink {
    const link: SharedLink = { linkId: token(25), rlkey: token(25), st: token(8), targetId: entry.id, kind: entry.kind }
    this.#byTarget.set(entry.id, link)
    this.#byLinkId.set(link.linkId, link)
    return link
  }

  removeTarget (id: string): void {
    const link = this.#byTarget.get(id)
    if (!link) return
    this.#byTarget.delete(id)
    this.#byLinkId.delete(link.linkId)
  }
}

// https://www.dropbox.com/scl/fi/<id>/<name>?rlkey=<key>&st=<token>&dl=0, the current form.
export function sharedLinkUrl (link: SharedLink, name: string): string {
  const kind = link.kind === 'file' ? 'fi' : 'fo'
  return `https://www.dropbox.com/scl/${kind}/${link.linkId}/${encodeURIComponent(name)}?rlkey=${link.rlkey}&st=${link.st}&dl=0`
}

const LINK_PERMISSIONS = {
  resolved_visibility: { '.tag': 'public' },
  requested_visibility: { '.tag': 'public' },
  can_revoke: true,
  visibility_policies: [
    { policy: { '.tag': 'public' }, resolved_policy: { '.tag': 'public' }, allowed: true },
    { policy: { '.tag': 'password' }, resolved_policy: { '.tag': 'password' }, allowed: false, disallowed_reason: { '.tag': 'restricted_by_team' } }
  ],
  can_set_expiry: false,
  can_remove_expiry: true,
  allow_download: true,
  can_allow_download: true,
  can_disallow_download: false,
  allow_comments: true,
  team_restricts_comments: false,
  effective_audience: { '.tag': 'public' },
  link_access_level: { '.tag': 'viewer' },
  audience_options: [{ audience: { '.tag': 'public' }, allowed: true }],
  can_set_password: false,
  can_remove_password: true,
  require_password: false,
  can_use_extended_sharing_controls: false
}

// sharing.SharedLinkMetadata (FileLinkMetadata / FolderLinkMetadata).
export function sharedLinkMetadata (link: SharedLink, entry: Entry): Record<string, unknown> {
  const common = {
    url: sharedLinkUrl(link, entry.name),
    id: entry.id,
    name: entry.name,
    path_lower: entry.pathLower,
    link_permissions: LINK_PERMISSIONS
  }
  if (entry.kind === 'folder') return { '.tag': 'folder', ...common }
  return {
    '.tag': 'file',
    ...common,
    client_modified: entry.clientModified,
    server_modified: entry.serverModified,
    rev: entry.rev,
    size: entry.size
  }
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789'

function token (length: number): string {
  return [...randomBytes(length)].map((byte) => ALPHABET[byte % ALPHABET.length]).join('')
}
