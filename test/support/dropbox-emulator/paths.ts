// Dropbox path rules: Stone patterns (a mismatch is a 400) and name rules (a 409 path error).

export const PATH_PATTERNS = {
  writePath: String.raw`(/(.|[\r\n])*)|(ns:[0-9]+(/.*)?)`,
  writePathOrId: String.raw`(/(.|[\r\n])*)|(ns:[0-9]+(/.*)?)|(id:.*)`,
  readPath: String.raw`(/(.|[\r\n])*|id:.*)|(rev:[0-9a-f]{9,})|(ns:[0-9]+(/.*)?)`,
  pathROrId: String.raw`(/(.|[\r\n])*)?|id:.*|(ns:[0-9]+(/.*)?)`
} as const

const compiled = new Map<string, RegExp>()

export function fullMatch (value: string, pattern: string): boolean {
  let regex = compiled.get(pattern)
  if (!regex) {
    regex = new RegExp(`^(?:${pattern})$`, 's')
    compiled.set(pattern, regex)
  }
  return regex.test(value)
}

// Names Dropbox refuses to store (its ignored-files list), compared case-insensitively.
const DISALLOWED_NAMES = new Set(['desktop.ini', 'thumbs.db', '.ds_store', 'icon\r', '.dropbox', '.dropbox.attr'])

export type PathProblem = 'malformed_path' | 'disallowed_name'

export function pathComponents (path: string): string[] {
  return path.slice(1).split('/')
}

// For an absolute path ("/a/b.jpg"). `/` separates names, so `\` can only be a bad name character.
export function pathProblem (path: string): PathProblem | null {
  const names = pathComponents(path)
  const disallowed = names.map((name) => DISALLOWED_NAMES.has(name.toLowerCase()))
  if (names.some((name, i) => !disallowed[i] && malformedName(name))) return 'malformed_path'
  if (disallowed.includes(true)) return 'disallowed_name'
  return null
}

function malformedName (name: string): boolean {
  return name === '' || name === '.' || name === '..' || name.endsWith(' ') ||
    name.includes('\\') || /[\u0000-\u001f\u007f]/.test(name) || name.length > 255 // eslint-disable-line no-control-regex
}

export function parentPath (path: string): string {
  return path.slice(0, path.lastIndexOf('/'))
}

export function baseName (path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}

// "photo.jpg" -> "photo (1).jpg" for add/overwrite, "photo (conflicted copy).jpg" for update.
export function autorenamed (name: string, attempt: number, style: 'number' | 'conflicted'): string {
  const dot = name.lastIndexOf('.')
  const stem = dot > 0 ? name.slice(0, dot) : name
  const extension = dot > 0 ? name.slice(dot) : ''
  if (style === 'number') return `${stem} (${attempt})${extension}`
  return attempt === 1 ? `${stem} (conflicted copy)${extension}` : `${stem} (conflicted copy ${attempt})${extension}`
}
