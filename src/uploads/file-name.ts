import { extname } from 'node:path'

// Dropbox allows 255 characters per name; the timestamp prefix takes 20 of them.
const MAX_NAME_LENGTH = 200
const MAX_EXT_LENGTH = 16
// Control characters, and characters that are separators or reserved on common file systems.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f/\\:*?"<>|]/g

/**
 * Reduces a client-supplied name to a safe single path component: no directories, no control or
 * reserved characters, no leading dots (hidden files) or trailing dots and spaces (Dropbox
 * rejects them), bounded length with the extension kept. A name with nothing left becomes
 * "image" plus the extension of the sniffed type.
 */
export function sanitizeFileName (original: string | undefined, fallbackExt: string): string {
  const base = (original ?? '').normalize('NFC').split(/[/\\]/).pop() ?? ''
  let name = base.replace(UNSAFE, '').replace(/^[.\s]+/, '').replace(/[.\s]+$/, '')
  let ext = extname(name)
  if (ext.length > MAX_EXT_LENGTH || ext === '.') ext = ''
  let stem = ext ? name.slice(0, -ext.length) : name
  stem = stem.replace(/[.\s]+$/, '')
  if (stem === '') {
    stem = 'image'
    ext ||= fallbackExt
  }
  if (!ext) ext = fallbackExt
  stem = [...stem].slice(0, MAX_NAME_LENGTH - ext.length).join('').replace(/[.\s]+$/, '') || 'image'
  name = stem + ext
  return name
}

const pad = (n: number): string => String(n).padStart(2, '0')

/** `YYYY-MM-DD_HH:MM:SS_<name>` in UTC, the contract's file name. */
export function stampedFileName (at: Date, safeName: string): string {
  const date = `${at.getUTCFullYear()}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())}`
  const time = `${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())}`
  return `${date}_${time}_${safeName}`
}
