import { timingSafeEqual } from 'node:crypto'
import { Types, type Connection } from 'mongoose'
import { API_KEY_NAME_RULE, apiKeyHash, isApiKeyShaped, newApiKey, normalizeApiKeyName } from '../core/api-key.ts'
import { apiKeyModel, type ApiKeyModel } from '../models/api-key.ts'
import { isDatabaseUnavailable } from '../models/connect.ts'

/** Who a request is, once its key checked out. */
export interface ApiKeyIdentity {
  id: string
  name: string
}

export interface ApiKeySummary extends ApiKeyIdentity {
  createdAt: Date
  lastUsedAt: Date | undefined
  revokedAt: Date | undefined
}

export type ApiKeyCheck =
  | { status: 'valid', key: ApiKeyIdentity }
  | { status: 'revoked', key: ApiKeyIdentity }
  | { status: 'unknown' }

/** A refusal to tell the operator as it is (a taken name, no such key). */
export class ApiKeyError extends Error {
  override name = 'ApiKeyError'
}

export interface ApiKeyStoreOptions {
  /** How long a key's state is trusted without asking MongoDB; 0: ask on every request. */
  cacheMs: number
  /** A failed last-used write (it runs in the background of a request). */
  onBackgroundError?: (err: unknown) => void
}

interface Known {
  id: string
  name: string
  hash: Buffer
  revoked: boolean
}

interface Cached {
  known: Known | null
  expiresAt: number
}

/** last_used_at is a "when did this build last call us", not an access log. */
const LAST_USED_RESOLUTION_MS = 60_000
/** Unknown keys are cached too; a flood of random ones must not grow memory without end. */
const MAX_CACHED = 10_000

const isDuplicateKey = (err: unknown): boolean => (err as { code?: unknown }).code === 11000

/**
 * The API keys in MongoDB, with the in-memory cache that keeps a database round trip off every
 * request: a key's state (valid, revoked, unknown) is reused for `cacheMs`, so a revocation
 * reaches every API process within that time (this process's at once). While MongoDB is
 * unreachable a key seen before keeps its last known state instead of failing every upload.
 */
export class ApiKeyStore {
  readonly #keys: ApiKeyModel
  readonly #cacheMs: number
  readonly #onBackgroundError: (err: unknown) => void
  readonly #cache = new Map<string, Cached>()
  readonly #loading = new Map<string, Promise<Cached>>()
  readonly #lastUsedWrites = new Map<string, number>()

  constructor (keys: ApiKeyModel, { cacheMs, onBackgroundError = () => {} }: ApiKeyStoreOptions) {
    this.#keys = keys
    this.#cacheMs = cacheMs
    this.#onBackgroundError = onBackgroundError
  }

  /** The store on a connection, its indexes created (the name and hash are unique). */
  static async open (connection: Connection, options: ApiKeyStoreOptions): Promise<ApiKeyStore> {
    const keys = apiKeyModel(connection)
    await keys.createIndexes()
    return new ApiKeyStore(keys, options)
  }

  /** A new key: `key` is shown once and never stored. */
  async create (rawName: string): Promise<{ key: string, summary: ApiKeySummary }> {
    const name = normalizeApiKeyName(rawName)
    if (name === undefined) throw new ApiKeyError(API_KEY_NAME_RULE)
    const key = newApiKey()
    try {
      const doc = await this.#keys.create({ name, key_hash: apiKeyHash(key), created_at: new Date() })
      return { key, summary: summaryOf(doc) }
    } catch (err) {
      if (isDuplicateKey(err)) throw new ApiKeyError(`An API key named '${name}' already exists (names stay taken after a revocation). Choose another name, e.g. '${name}-2'.`)
      throw err
    }
  }

  /** Newest first, revoked keys included. */
  async list (): Promise<ApiKeySummary[]> {
    const docs = await this.#keys.find({}).sort({ created_at: -1 }).lean()
    return docs.map(summaryOf)
  }

  async findById (id: string): Promise<ApiKeySummary | undefined> {
    if (!Types.ObjectId.isValid(id)) return undefined
    const doc = await this.#keys.findById(id).lean()
    return doc ? summaryOf(doc) : undefined
  }

  /** Revokes for good; revoking a revoked key changes nothing. Undefined: no such key. */
  async revokeById (id: string): Promise<{ summary: ApiKeySummary, alreadyRevoked: boolean } | undefined> {
    if (!Types.ObjectId.isValid(id)) return undefined
    return this.#revoke({ _id: new Types.ObjectId(id) })
  }

  async revokeByName (rawName: string): Promise<{ summary: ApiKeySummary, alreadyRevoked: boolean }> {
    const name = normalizeApiKeyName(rawName)
    if (name === undefined) throw new ApiKeyError(API_KEY_NAME_RULE)
    const revoked = await this.#revoke({ name })
    if (!revoked) throw new ApiKeyError(`There is no API key named '${name}'.`)
    return revoked
  }

  /** What a presented key is. Costs a MongoDB lookup only when its state is not cached. */
  async check (presented: string): Promise<ApiKeyCheck> {
    if (!isApiKeyShaped(presented)) return { status: 'unknown' }
    const hash = apiKeyHash(presented)
    const now = Date.now()
    let cached = this.#cache.get(hash)
    if (cached === undefined || cached.expiresAt <= now) cached = await this.#load(hash, cached)
    const known = cached.known
    // Found by its hash already; the constant-time comparison of the whole digest keeps the
    // answer independent of how the index or the map matched it.
    if (known === null || !timingSafeEqual(known.hash, Buffer.from(hash, 'hex'))) return { status: 'unknown' }
    const key = { id: known.id, name: known.name }
    if (known.revoked) return { status: 'revoked', key }
    this.#touch(known.id, now)
    return { status: 'valid', key }
  }

  async #revoke (filter: { _id: Types.ObjectId } | { name: string }): Promise<{ summary: ApiKeySummary, alreadyRevoked: boolean } | undefined> {
    const revoked = await this.#keys.findOneAndUpdate({ ...filter, revoked_at: { $exists: false } }, { $set: { revoked_at: new Date() } }, { returnDocument: 'after' }).lean()
    const doc = revoked ?? await this.#keys.findOne(filter).lean()
    if (!doc) return undefined
    // This process stops accepting it at once; the others when their cache entry expires.
    for (const [hash, cached] of this.#cache) if (cached.known?.id === doc._id.toHexString()) this.#cache.delete(hash)
    return { summary: summaryOf(doc), alreadyRevoked: revoked === null }
  }

  /** One lookup per key at a time, however many requests carry it. */
  #load (hash: string, stale: Cached | undefined): Promise<Cached> {
    let loading = this.#loading.get(hash)
    if (!loading) {
      loading = this.#fetch(hash, stale).finally(() => this.#loading.delete(hash))
      this.#loading.set(hash, loading)
    }
    return loading
  }

  async #fetch (hash: string, stale: Cached | undefined): Promise<Cached> {
    let doc
    try {
      doc = await this.#keys.findOne({ key_hash: hash }, { name: 1, key_hash: 1, revoked_at: 1 }).lean()
    } catch (err) {
      if (stale !== undefined && isDatabaseUnavailable(err)) return stale
      throw err
    }
    const cached: Cached = {
      known: doc ? { id: doc._id.toHexString(), name: doc.name, hash: Buffer.from(doc.key_hash, 'hex'), revoked: doc.revoked_at != null } : null,
      expiresAt: Date.now() + this.#cacheMs
    }
    if (this.#cacheMs > 0) {
      this.#cache.delete(hash)
      this.#cache.set(hash, cached)
      // The oldest entry goes first (a Map keeps insertion order).
      if (this.#cache.size > MAX_CACHED) this.#cache.delete(this.#cache.keys().next().value!)
    }
    return cached
  }

  /** At most one write a minute per key from this process, and (conditional) from all of them. */
  #touch (id: string, now: number): void {
    if (now - (this.#lastUsedWrites.get(id) ?? 0) < LAST_USED_RESOLUTION_MS) return
    this.#lastUsedWrites.set(id, now)
    const stale = { $or: [{ last_used_at: { $exists: false } }, { last_used_at: { $lt: new Date(now - LAST_USED_RESOLUTION_MS) } }] }
    this.#keys.updateOne({ _id: new Types.ObjectId(id), ...stale }, { $set: { last_used_at: new Date(now) } })
      .catch((err: unknown) => this.#onBackgroundError(err))
  }
}

interface ApiKeyDoc {
  _id: Types.ObjectId
  name: string
  created_at: Date
  last_used_at?: Date | null
  revoked_at?: Date | null
}

function summaryOf (doc: ApiKeyDoc): ApiKeySummary {
  return {
    id: doc._id.toHexString(),
    name: doc.name,
    createdAt: doc.created_at,
    lastUsedAt: doc.last_used_at ?? undefined,
    revokedAt: doc.revoked_at ?? undefined
  }
}
