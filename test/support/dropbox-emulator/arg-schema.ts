// Argument checks in the manner of Dropbox's Stone validators; a failure is a 400 whose text
// names the field path, e.g. "commit.path: 'x' did not match pattern '...'".

export class BadArgument extends Error {}

export type JsonObject = Record<string, unknown>

function typeName (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'list'
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'float'
  if (typeof value === 'object') return 'dict'
  return typeof value
}

function fail (where: string, message: string): never {
  throw new BadArgument(where ? `${where}: ${message}` : message)
}

function join (where: string, key: string): string {
  return where ? `${where}.${key}` : key
}

// Unknown fields are refused so a misspelt option cannot silently fall back to its default.
export function struct (value: unknown, where: string, fields: readonly string[]): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(where, `expected object, got ${typeName(value)}`)
  }
  for (const key of Object.keys(value)) {
    if (key !== '.tag' && !fields.includes(key)) fail(where, `unknown field '${key}'`)
  }
  return value as JsonObject
}

// Stone treats an explicit null like an absent optional field.
function present (o: JsonObject, key: string): unknown {
  return o[key] ?? undefined
}

export interface StringRules {
  pattern?: string
  minLength?: number
  maxLength?: number
}

export function optionalString (o: JsonObject, key: string, where: string, rules: StringRules = {}): string | undefined {
  const value = present(o, key)
  if (value === undefined) return undefined
  return checkString(value, join(where, key), rules)
}

export function requiredString (o: JsonObject, key: string, where: string, rules: StringRules = {}): string {
  const value = optionalString(o, key, where, rules)
  if (value === undefined) fail(where, `missing required field '${key}'`)
  return value
}

export function checkString (value: unknown, where: string, rules: StringRules = {}): string {
  if (typeof value !== 'string') fail(where, `expected string, got ${typeName(value)}`)
  if (rules.minLength !== undefined && value.length < rules.minLength) {
    fail(where, `'${value}' must be at least ${rules.minLength} characters, got ${value.length}`)
  }
  if (rules.maxLength !== undefined && value.length > rules.maxLength) {
    fail(where, `'${value}' must be at most ${rules.maxLength} characters, got ${value.length}`)
  }
  if (rules.pattern !== undefined && !new RegExp(`^(?:${rules.pattern})$`, 's').test(value)) {
    fail(where, `'${value}' did not match pattern '${rules.pattern}'`)
  }
  return value
}

export function optionalBoolean (o: JsonObject, key: string, where: string): boolean | undefined {
  const value = present(o, key)
  if (value === undefined) return undefined
  if (typeof value !== 'boolean') fail(join(where, key), `expected boolean, got ${typeName(value)}`)
  return value
}

export function optionalUInt (o: JsonObject, key: string, where: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const value = present(o, key)
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(join(where, key), `expected integer, got ${typeName(value)}`)
  if (value < min) fail(join(where, key), `${value} is not greater than or equal to ${min}`)
  if (value > max) fail(join(where, key), `${value} is not less than or equal to ${max}`)
  return value
}

export function requiredUInt (o: JsonObject, key: string, where: string): number {
  const value = optionalUInt(o, key, where)
  if (value === undefined) fail(where, `missing required field '${key}'`)
  return value
}

export function requiredList (o: JsonObject, key: string, where: string, maxItems: number): unknown[] {
  const value = present(o, key)
  if (value === undefined) fail(where, `missing required field '${key}'`)
  if (!Array.isArray(value)) fail(join(where, key), `expected list, got ${typeName(value)}`)
  if (value.length > maxItems) fail(join(where, key), `expected at most ${maxItems} items, got ${value.length}`)
  return value
}

export function requiredObject (o: JsonObject, key: string, where: string): unknown {
  const value = present(o, key)
  if (value === undefined) fail(where, `missing required field '${key}'`)
  return value
}

export interface TaggedValue {
  tag: string
  value: unknown
}

// A union member is {".tag": t, t: value}, or for a void member the bare string "t".
export function union (value: unknown, where: string, members: Record<string, 'void' | 'value'>): TaggedValue {
  const tag = typeof value === 'string' ? value : tagOf(value, where)
  const kind = members[tag]
  if (kind === undefined) fail(where, `unknown tag '${tag}'`)
  if (kind === 'void') return { tag, value: undefined }
  if (typeof value === 'string') fail(where, `tag '${tag}' refers to non-void member, but no value was given`)
  const inner = (value as JsonObject)[tag]
  if (inner === undefined) fail(where, `missing required field '${tag}'`)
  return { tag, value: inner }
}

function tagOf (value: unknown, where: string): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(where, `expected object, got ${typeName(value)}`)
  }
  const tag = (value as JsonObject)['.tag']
  if (typeof tag !== 'string') fail(where, "missing '.tag' key")
  return tag
}

export function nested (where: string, key: string | number): string {
  return join(where, String(key))
}
