import { extname } from 'node:path'
import type { ImageType } from './image-type.ts'

// A stored name is one path component, and both Linux file systems and Dropbox allow 255 bytes of
// UTF-8 for one (not 255 characters: 90 Chinese characters are 270 bytes, 60 emoji 240). It is
// the 20-byte `YYYY-MM-DD_HH:MM:SS_` stamp plus the name below, and storage may add " (n)" when
// the name is taken; so the name gets 200 bytes, which leaves 35 for the suffix.
export const MAX_COMPONENT_BYTES = 255
export const STAMP_BYTES = 20
export const MAX_NAME_BYTES = 200
// Longer "extensions" are part of the name ("notes.from.the.meeting").
const MAX_EXT_LENGTH = 16
// Enough code points to fill MAX_NAME_BYTES whatever they are: longer names are cut before the
// slower steps, so a hostile 16 KiB name costs no more than a short one.
const MAX_CODE_POINTS = 4 * MAX_NAME_BYTES
// Control characters, and characters that are separators or reserved on common file systems.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f/\\:*?"<>|]/g
// Line and paragraph separators, lone surrogates and noncharacters: never part of a real name.
const NEVER = /[\p{Zl}\p{Zp}\p{Cs}\p{Noncharacter_Code_Point}]/u
// Invisible format characters: bidi controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F,
// U+061C), with which "photo\u202Egpj.exe" reads as "photoexe.jpg", zero-width spaces and joiners,
// soft hyphens, byte order marks...
const FORMAT = /\p{Cf}/u
const PICTOGRAPHIC = /\p{Extended_Pictographic}/u
// What may sit between a pictograph and the joiner: skin tones, the emoji presentation selector.
const EMOJI_MODIFIER = /[\p{Emoji_Modifier}\uFE0E\uFE0F]/u
const BLACK_FLAG = '\u{1F3F4}'
const isTag = (c: string): boolean => c >= '\u{E0020}' && c <= '\u{E007F}'

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' })

/** Bytes of a string in UTF-8. */
export function utf8Length (text: string): number {
  return Buffer.byteLength(text, 'utf8')
}

/**
 * Removes invisible and never-valid characters, keeping what composes an emoji: a zero-width
 * joiner between two pictographs (👩‍💻 is one picture) and the tag characters after a black flag
 * (🏴󠁧󠁢󠁳󠁣󠁴󠁿 is Scotland's).
 */
function dropInvisible (codePoints: string[]): string[] {
  const kept: string[] = []
  // The last kept character, skipping emoji modifiers: a joiner must follow a pictograph.
  let afterPictograph = false
  let inFlagTags = false
  for (let i = 0; i < codePoints.length; i++) {
    const c = codePoints[i]!
    if (NEVER.test(c)) continue
    if (FORMAT.test(c)) {
      const joinsEmoji = c === '\u200D' && afterPictograph && PICTOGRAPHIC.test(codePoints[i + 1] ?? '')
      const flagTag = isTag(c) && inFlagTags
      if (joinsEmoji || flagTag) {
        kept.push(c)
        afterPictograph = false
        if (c === '\u{E007F}') inFlagTags = false
      }
      continue
    }
    kept.push(c)
    if (!EMOJI_MODIFIER.test(c)) afterPictograph = PICTOGRAPHIC.test(c)
    inFlagTags = c === BLACK_FLAG
  }
  return kept
}

/** The longest start of `text` of at most `maxBytes` UTF-8 bytes that ends between two graphemes. */
export function cutToBytes (text: string, maxBytes: number): string {
  if (utf8Length(text) <= maxBytes) return text
  let cut = ''
  let bytes = 0
  for (const { segment } of graphemes.segment(text)) {
    const size = utf8Length(segment)
    if (bytes + size > maxBytes) break
    cut += segment
    bytes += size
  }
  return cut
}

/**
 * Reduces a client-supplied name to a safe single path component: no directories, no control,
 * reserved, invisible or direction-changing characters, no leading dots (hidden files) or
 * trailing dots and spaces (Dropbox rejects them), at most MAX_NAME_BYTES bytes of UTF-8, cut
 * between two characters as a reader sees them (never inside an emoji or an accented letter).
 * The extension is kept when it names the sniffed type (any case: "IMG_1.JPG"), and replaced by
 * the type's own otherwise, so no image is ever stored, or served, as .html or .svg. A name with
 * nothing left becomes "image".
 */
export function sanitizeFileName (original: string | undefined, type: ImageType): string {
  const base = (original ?? '').split(/[/\\]/).pop() ?? ''
  // The extension is at the end: a long name keeps its last code points along with its first.
  const all = Array.from(base)
  const bounded = all.length > 2 * MAX_CODE_POINTS ? [...all.slice(0, MAX_CODE_POINTS), ...all.slice(-MAX_EXT_LENGTH - 1)] : all
  const name = dropInvisible(Array.from(bounded.join('').normalize('NFC'))).join('')
    .replace(UNSAFE, '').replace(/^[.\s]+/, '').replace(/[.\s]+$/, '')
  const given = extname(name)
  const plausible = given.length > 1 && given.length <= MAX_EXT_LENGTH
  const ext = type.exts.includes(given.toLowerCase()) ? given : type.ext
  const stem = (plausible ? name.slice(0, -given.length) : name).replace(/[.\s]+$/, '')
  const cut = cutToBytes(Array.from(stem).slice(0, MAX_CODE_POINTS).join(''), MAX_NAME_BYTES - utf8Length(ext)).replace(/[.\s]+$/, '')
  return (cut || 'image') + ext
}

const pad = (n: number): string => String(n).padStart(2, '0')

/** `YYYY-MM-DD_HH:MM:SS_<name>` in UTC, the contract's file name. */
export function stampedFileName (at: Date, safeName: string): string {
  const date = `${at.getUTCFullYear()}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())}`
  const time = `${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())}`
  return `${date}_${time}_${safeName}`
}
