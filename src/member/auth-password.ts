/**
 * Password hashing for the auth store: scrypt (node:crypto) with a random 16-byte salt per
 * password, stored as `scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>`. A bcrypt hash (`$2a$…`,
 * etcd's, restored from an etcd snapshot) is verified too, with bcryptjs, which runs on the event
 * loop in short slices. Hashes are computed by
 * the member that receives the request, before it proposes, so the replicated apply stays
 * deterministic and the password itself never enters the Raft log. Runs on libuv's thread pool
 * (the async scrypt), so a login does not stall the member's event loop.
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

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await derive(password, salt, N, R, P)
  return ['scrypt', N, R, P, salt.toString('base64'), key.toString('base64')].join('$')
}

/** A hash nothing matches, verified against when the user is unknown (same work, same time). */
const DECOY = `scrypt$${N}$${R}$${P}$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(KEY_BYTES).toString('base64')}`

/** etcd's password hashes (Go's bcrypt writes `$2a$`). */
const BCRYPT = /^\$2[aby]\$\d\d\$/

/** True when `password` matches `stored`; a null `stored` (unknown user, no password) never does. */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  if (stored !== null && BCRYPT.test(stored)) return bcrypt.compare(password, stored)
  const parts = (stored ?? DECOY).split('$')
  const [scheme, n, r, p, salt, hash] = parts
  if (parts.length !== 6 || scheme !== 'scrypt') return false
  const expected = Buffer.from(hash as string, 'base64')
  const key = await derive(password, Buffer.from(salt as string, 'base64'), Number(n), Number(r), Number(p))
  return stored !== null && key.length === expected.length && timingSafeEqual(key, expected)
}
