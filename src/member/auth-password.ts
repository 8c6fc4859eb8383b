/**
 * Password hashing for the auth store. A password set here is stored as two hashes, a space
 * between them:
 *
 * - `scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>` (node:crypto, a random 16-byte salt), which
 *   logins check: it runs on libuv's thread pool, so a login does not stall the event loop;
 * - the bcrypt hash etcd checks (`$2a$10$…`, bcryptjs, cost 10 as etcd's), computed once when the
 *   password is set, so a snapshot restored into etcd lets the user in (etcdPasswordHash).
 *
 * A bcrypt hash alone (a user restored from an etcd snapshot) is checked with bcryptjs, which
 * runs on the event loop in short slices. Hashes are computed by the member that receives the
 * request, before it proposes, so the replicated apply stays deterministic and the password
 * itself never enters the Raft log.
 *
 * @module
 */
import bcrypt from 'bcryptjs'
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

const N = 16384
const R = 8
const P = 1
const KEY_BYTES = 32

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_BYTES, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 }, (err, key) =>
      err === null ? resolve(key) : reject(err),
    )
  })
}

/** etcd's password hashes (Go's bcrypt writes `$2a$`). */
const BCRYPT = /^\$2[aby]\$\d\d\$/

/** etcd's default cost (Go's bcrypt.DefaultCost; --bcrypt-cost). */
export const DEFAULT_BCRYPT_COST = 10

/** Both hashes of `password`, the bcrypt one at `bcryptCost`. */
export async function hashPassword(password: string, bcryptCost = DEFAULT_BCRYPT_COST): Promise<string> {
  const salt = randomBytes(16)
  const [key, etcd] = await Promise.all([derive(password, salt, N, R, P), bcrypt.hash(password, bcryptCost)])
  return `${['scrypt', N, R, P, salt.toString('base64'), key.toString('base64')].join('$')} ${etcd}`
}

/** The hash etcd can check for a stored one: its bcrypt part (a hash etcd cannot check if none). */
export function etcdPasswordHash(stored: string): string {
  return stored.split(' ').find((h) => BCRYPT.test(h)) ?? stored
}

/** A hash nothing matches, verified against when the user is unknown (same work, same time). */
const DECOY = `scrypt$${N}$${R}$${P}$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(KEY_BYTES).toString('base64')}`

/** True when `password` matches `stored`; a null `stored` (unknown user, no password) never does. */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const checked = (stored ?? DECOY).split(' ')[0] as string
  if (BCRYPT.test(checked)) return bcrypt.compare(password, checked)
  const parts = checked.split('$')
  const [scheme, n, r, p, salt, hash] = parts
  if (parts.length !== 6 || scheme !== 'scrypt') return false
  const expected = Buffer.from(hash as string, 'base64')
  const key = await derive(password, Buffer.from(salt as string, 'base64'), Number(n), Number(r), Number(p))
  return stored !== null && key.length === expected.length && timingSafeEqual(key, expected)
}
