import {
  BadArgument, nested, optionalBoolean, optionalString, optionalUInt, requiredList, requiredObject, requiredString,
  requiredUInt, struct, union, type JsonObject
} from './arg-schema.ts'
import { PATH_PATTERNS } from './paths.ts'

// Parsed arguments of each emulated route, field lists as in the Stone spec.

export type WriteMode = { tag: 'add' } | { tag: 'overwrite' } | { tag: 'update', rev: string }

export interface CommitArg {
  path: string
  mode: WriteMode
  autorename: boolean
  strictConflict: boolean
  clientModified?: string
}

export interface SessionCursor {
  sessionId: string
  offset: number
}

const REV = { pattern: '[0-9a-f]+', minLength: 9 }
const SHA256_HEX = { minLength: 64, maxLength: 64 }
const COMMIT_FIELDS = ['path', 'mode', 'autorename', 'client_modified', 'mute', 'property_groups', 'strict_conflict']
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/

function commitFields (o: JsonObject, where: string): CommitArg {
  const path = requiredString(o, 'path', where, { pattern: PATH_PATTERNS.writePathOrId })
  const clientModified = optionalString(o, 'client_modified', where)
  if (clientModified !== undefined && !TIMESTAMP.test(clientModified)) {
    throw new BadArgument(`${nested(where, 'client_modified')}: '${clientModified}' does not match format '%Y-%m-%dT%H:%M:%SZ'`)
  }
  optionalBoolean(o, 'mute', where)
  return {
    path,
    mode: writeMode(o.mode, nested(where, 'mode')),
    autorename: optionalBoolean(o, 'autorename', where) ?? false,
    strictConflict: optionalBoolean(o, 'strict_conflict', where) ?? false,
    clientModified
  }
}

function writeMode (value: unknown, where: string): WriteMode {
  if (value === undefined || value === null) return { tag: 'add' }
  const { tag, value: rev } = union(value, where, { add: 'void', overwrite: 'void', update: 'value' })
  if (tag === 'update') {
    return { tag, rev: requiredString({ update: rev }, 'update', where, REV) }
  }
  return { tag: tag as 'add' | 'overwrite' }
}

function cursor (value: unknown, where: string): SessionCursor {
  const o = struct(value, where, ['session_id', 'offset'])
  return { sessionId: requiredString(o, 'session_id', where), offset: requiredUInt(o, 'offset', where) }
}

export interface UploadArg {
  commit: CommitArg
  contentHash?: string
}

export function parseUploadArg (raw: unknown): UploadArg {
  const o = struct(raw, '', [...COMMIT_FIELDS, 'content_hash'])
  return { commit: commitFields(o, ''), contentHash: optionalString(o, 'content_hash', '', SHA256_HEX) }
}

export interface StartArg {
  close: boolean
  concurrent: boolean
  contentHash?: string
}

export function parseStartArg (raw: unknown): StartArg {
  const o = struct(raw, '', ['close', 'session_type', 'content_hash'])
  const sessionType = o.session_type == null
    ? 'sequential'
    : union(o.session_type, 'session_type', { sequential: 'void', concurrent: 'void' }).tag
  return {
    close: optionalBoolean(o, 'close', '') ?? false,
    concurrent: sessionType === 'concurrent',
    contentHash: optionalString(o, 'content_hash', '', SHA256_HEX)
  }
}

export interface AppendArg {
  cursor: SessionCursor
  close: boolean
  contentHash?: string
}

export function parseAppendArg (raw: unknown): AppendArg {
  const o = struct(raw, '', ['cursor', 'close', 'content_hash'])
  return {
    cursor: cursor(requiredObject(o, 'cursor', ''), 'cursor'),
    close: optionalBoolean(o, 'close', '') ?? false,
    contentHash: optionalString(o, 'content_hash', '', SHA256_HEX)
  }
}

export interface FinishArg {
  cursor: SessionCursor
  commit: CommitArg
  contentHash?: string
}

function finishArg (raw: unknown, where: string): FinishArg {
  const o = struct(raw, where, ['cursor', 'commit', 'content_hash'])
  const commitWhere = nested(where, 'commit')
  return {
    cursor: cursor(requiredObject(o, 'cursor', where), nested(where, 'cursor')),
    commit: commitFields(struct(requiredObject(o, 'commit', where), commitWhere, COMMIT_FIELDS), commitWhere),
    contentHash: optionalString(o, 'content_hash', where, SHA256_HEX)
  }
}

export function parseFinishArg (raw: unknown): FinishArg {
  return finishArg(raw, '')
}

export function parseFinishBatchArg (raw: unknown): { entries: FinishArg[] } {
  const o = struct(raw, '', ['entries'])
  return { entries: requiredList(o, 'entries', '', 1000).map((entry, i) => finishArg(entry, nested('entries', i))) }
}

export function parseDownloadArg (raw: unknown): { path: string } {
  const o = struct(raw, '', ['path', 'rev'])
  return { path: requiredString(o, 'path', '', { pattern: PATH_PATTERNS.readPath }) }
}

export function parseGetMetadataArg (raw: unknown): { path: string } {
  const o = struct(raw, '', ['path', 'include_media_info', 'include_deleted', 'include_has_explicit_shared_members', 'include_property_groups'])
  return { path: requiredString(o, 'path', '', { pattern: PATH_PATTERNS.readPath }) }
}

export interface ListFolderArg {
  path: string
  recursive: boolean
  limit?: number
}

// Also files/list_folder/get_latest_cursor's argument. include_deleted is accepted and ignored:
// the first listing never shows deleted entries.
export function parseListFolderArg (raw: unknown): ListFolderArg {
  const o = struct(raw, '', [
    'path', 'recursive', 'include_media_info', 'include_deleted', 'include_has_explicit_shared_members',
    'include_mounted_folders', 'limit', 'shared_link', 'include_property_groups', 'include_non_downloadable_files'
  ])
  const path = requiredString(o, 'path', '', { pattern: PATH_PATTERNS.pathROrId })
  if (path === '/') throw new BadArgument('path: Specify the root folder as an empty string rather than as "/".')
  return { path, recursive: optionalBoolean(o, 'recursive', '') ?? false, limit: optionalUInt(o, 'limit', '', 1, 2000) }
}

export function parseListFolderContinueArg (raw: unknown): { cursor: string } {
  const o = struct(raw, '', ['cursor'])
  return { cursor: requiredString(o, 'cursor', '', { minLength: 1 }) }
}

export function parseDeleteArg (raw: unknown): { path: string, parentRev?: string } {
  const o = struct(raw, '', ['path', 'parent_rev'])
  return {
    path: requiredString(o, 'path', '', { pattern: PATH_PATTERNS.writePathOrId }),
    parentRev: optionalString(o, 'parent_rev', '', REV)
  }
}

export interface MoveArg {
  fromPath: string
  toPath: string
  autorename: boolean
}

// files.RelocationArg; allow_shared_folder and allow_ownership_transfer change nothing here.
export function parseMoveArg (raw: unknown): MoveArg {
  const o = struct(raw, '', ['from_path', 'to_path', 'allow_shared_folder', 'autorename', 'allow_ownership_transfer'])
  optionalBoolean(o, 'allow_shared_folder', '')
  optionalBoolean(o, 'allow_ownership_transfer', '')
  return {
    fromPath: requiredString(o, 'from_path', '', { pattern: PATH_PATTERNS.writePathOrId }),
    toPath: requiredString(o, 'to_path', '', { pattern: PATH_PATTERNS.writePath }),
    autorename: optionalBoolean(o, 'autorename', '') ?? false
  }
}

const LINK_SETTINGS_FIELDS = ['require_password', 'link_password', 'expires', 'audience', 'access', 'requested_visibility', 'allow_download']

export function parseCreateSharedLinkArg (raw: unknown): { path: string } {
  const o = struct(raw, '', ['path', 'settings', 'short_url'])
  if (o.settings != null) struct(o.settings, 'settings', LINK_SETTINGS_FIELDS)
  return { path: requiredString(o, 'path', '', { pattern: PATH_PATTERNS.readPath }) }
}

export interface ListSharedLinksArg {
  path?: string
  cursor?: string
  directOnly: boolean
}

export function parseListSharedLinksArg (raw: unknown): ListSharedLinksArg {
  const o = struct(raw, '', ['path', 'cursor', 'direct_only'])
  return {
    path: optionalString(o, 'path', '', { pattern: PATH_PATTERNS.readPath }),
    cursor: optionalString(o, 'cursor', ''),
    directOnly: optionalBoolean(o, 'direct_only', '') ?? false
  }
}
