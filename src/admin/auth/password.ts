import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'

// Password hashes are "scrypt$<N>$<r>$<p>$<salt>$<hash>" (base64url): the parameters travel with
// the hash, so raising the cost later still verifies every stored password.
const PARAMS = { N: 2 ** 15, r: 8, p: 1 }
const KEY_BYTES = 64
const SALT_BYTES = 16

function derive (password: string, salt: Buffer, params: { N: number, r: number, p: number }): Promise<Buffer> {
  // 128 * N * r bytes are needed; the default maxmem (32 MiB) is exactly too small for N=2^15, r=8.
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r }
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, KEY_BYTES, options, (err, key) => err ? reject(err) : resolve(key))
  })
}

export async function hashPassword (password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const key = await derive(password, salt, PARAMS)
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'), key.toString('base64url')].join('$')
}

function parse (stored: string): { N: number, r: number, p: number, salt: Buffer, key: Buffer } | undefined {
  const [algorithm, n, r, p, salt, key, ...rest] = stored.split('$')
  if (algorithm !== 'scrypt' || rest.length > 0 || !salt || !key) return undefined
  const params = { N: Number(n), r: Number(r), p: Number(p) }
  // Bounds keep a corrupted record from asking for gigabytes of memory.
  const sane = Number.isInteger(Math.log2(params.N)) && params.N >= 2 ** 10 && params.N <= 2 ** 20 &&
    Number.isInteger(params.r) && params.r >= 1 && params.r <= 32 && Number.isInteger(params.p) && params.p >= 1 && params.p <= 16
  if (!sane) return undefined
  return { ...params, salt: Buffer.from(salt, 'base64url'), key: Buffer.from(key, 'base64url') }
}

/** True when `password` matches `stored`; false for a mismatch or an unreadable hash. */
export async function verifyPassword (password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored)
  if (!parsed || parsed.key.length !== KEY_BYTES) return false
  const key = await derive(password, parsed.salt, parsed)
  return timingSafeEqual(key, parsed.key)
}

/** A hash of a random password: verifying against it costs what a real check costs. */
let decoy: Promise<string> | undefined
export function decoyHash (): Promise<string> {
  decoy ??= hashPassword(randomBytes(32).toString('base64url'))
  return decoy
}
