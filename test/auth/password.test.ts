/**
 * Stored password hashes: a password set here is checked by its scrypt hash and carries the bcrypt
 * hash etcd checks; a bcrypt hash alone (a user restored from etcd) is checked as etcd would.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { etcdPasswordHash, hashPassword, verifyPassword } from '../../src/member/auth-password.ts'

/** What etcd 3.4 stored for `user add u1:pw1` (read from its snapshot's authUsers bucket). */
const ETCD_HASH_OF_PW1 = '$2a$10$20bzvic.Gx7aTOfhdXaYwO.e/Ht9jkU/pxQmeijY6thTBvqewv.jK'

test('a password set here: scrypt, then the bcrypt hash etcd checks; both match it and only it', async () => {
  const stored = await hashPassword('s3cret')
  const [scrypt, bcrypt, ...rest] = stored.split(' ')
  assert.match(scrypt ?? '', /^scrypt\$16384\$8\$1\$/)
  assert.match(bcrypt ?? '', /^\$2[ab]\$10\$.{53}$/)
  assert.deepEqual(rest, [])
  assert.equal(await verifyPassword('s3cret', stored), true)
  assert.equal(await verifyPassword('s3creT', stored), false)
  assert.equal(etcdPasswordHash(stored), bcrypt)
  assert.equal(await verifyPassword('s3cret', etcdPasswordHash(stored)), true, 'the part etcd gets matches alone')
  assert.equal(await verifyPassword('other', etcdPasswordHash(stored)), false)
})

test('--bcrypt-cost sets the cost of the bcrypt part', async () => {
  const stored = await hashPassword('s3cret', 4)
  assert.match(etcdPasswordHash(stored), /^\$2[ab]\$04\$/)
  assert.equal(await verifyPassword('s3cret', etcdPasswordHash(stored)), true)
})

test("etcd's own bcrypt hash is checked as etcd checks it", async () => {
  assert.equal(await verifyPassword('pw1', ETCD_HASH_OF_PW1), true)
  assert.equal(await verifyPassword('pw2', ETCD_HASH_OF_PW1), false)
  assert.equal(etcdPasswordHash(ETCD_HASH_OF_PW1), ETCD_HASH_OF_PW1)
})

test('no stored hash, or one of no known scheme, matches nothing', async () => {
  assert.equal(await verifyPassword('', null), false)
  assert.equal(await verifyPassword('x', 'md5$abc'), false)
  const scryptOnly = (await hashPassword('old')).split(' ')[0] as string
  assert.equal(await verifyPassword('old', scryptOnly), true, 'hashes stored before bcrypt was added still work')
  assert.equal(etcdPasswordHash(scryptOnly), scryptOnly, 'and etcd gets what there is')
})
