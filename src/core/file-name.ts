import { extname } from 'node:path'
import type { ImageType } from './image-type.ts'

// Dropbox allows 255 characters per name; the timestamp prefix takes 20 of them.
const MAX_NAME_LENGTH = 200
// Longer "extensions" are part of the name ("notes.from.the.meeting").
const MAX_EXT_LENGTH = 16
// Control characters, and characters that are separators or reserved on common file systems.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f/\\:*?"<>|]/g

/**
 * Reduces a client-supplied name to a safe single path component: no directories, no control or
 * reserved characters, no leading dots (hidden files) or trailing dots and spaces (Dropbox
 * rejects them), bounded length. The extension is kept when it names the sniffed type (any
 * case: "IMG_1.JPG"), and replaced by the type's own otherwise, so no image is ever stored, or
 * served, as .html or .svg. A name with nothing left becomes "image".
 */
export function sanitizeFileName (original: string | undefined, type: ImageType): string {
  const base = (original ?? '').normalize('NFC').split(/[/\\]/).pop() ?? ''
  const name = base.replace(UNSAFE, '').replace(/^[.\s]+/, '').replace(/[.\s]+$/, '')
  const given = extname(name)
  const plausible = given.length > 1 && given.length <= MAX_EXT_LENGTH
  const ext = type.exts.includes(given.toLowerCase()) ? given : type.ext
  const stem = (plausible ? name.slice(0, -given.length) : name).replace(/[.\s]+$/, '')
  const bounded = [...stem].slice(0, MAX_NAME_LENGTH - ext.length).join('').replace(/[.\s]+$/, '')
  return (bounded || 'image') + ext
}

const pad = (n: number): string => String(n).padStart(2, '0')

/** `YYYY-MM-DD_HH:MM:SS_<name>` in UTC, the contract's file name. */
export function stampedFileName (at: Date, safeName: string): string {
  const date = `${at.getUTCFullYear()}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())}`
  const time = `${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())}`
  return `${date}_${time}_${safeName}`
}
