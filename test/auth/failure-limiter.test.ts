/**
 * The member's failed-login limiter (src/member/auth-limiter.ts) with an injected clock: the
 * per-(address, name) bucket, the looser per-address bucket, attempts counted while under way,
 * window expiry, and the bounded tables.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { FailureLimiter, type FailureLimits } from '../../src/member/auth-limiter.ts'
import { EtcdError } from '../../src/mvcc/index.ts'

const LIMITS: FailureLimits = { max: 3, windowMs: 1000, maxAddresses: 100, maxPerAddress: 6 }

function limiter(limits: FailureLimits = LIMITS): { l: FailureLimiter; clock: { t: number } } {
  const clock = { t: 50_000 }
  return { l: new FailureLimiter(limits, () => clock.t), clock }
}

/** `n` failed attempts (begun, never forgiven). */
function fail(l: FailureLimiter, address: string, name: string, n = 1): void {
  for (let i = 0; i < n; i++) l.begin(address, name)
}

function refused(l: FailureLimiter, address: string, name: string): boolean {
  try {
    l.begin(address, name).forgive()
    return false
  } catch (err) {
    assert.ok(err instanceof EtcdError, `not an etcd error: ${String(err)}`)
    assert.deepEqual([err.code, err.message], [8, 'etcdserver: too many requests'])
    return true
  }
}

describe('failed-login limiter', () => {
  it('limits one name from one address, not other names from it, nor that name from another address', () => {
    const { l } = limiter()
    fail(l, '10.0.0.1', 'root', 2)
    assert.equal(refused(l, '10.0.0.1', 'root'), false, 'two failures are under the limit of three')
    fail(l, '10.0.0.1', 'root')
    assert.equal(refused(l, '10.0.0.1', 'root'), true, 'the third failure fills the pair')
    assert.equal(refused(l, '10.0.0.1', 'alice'), false, 'another name from the same address')
    assert.equal(refused(l, '10.0.0.2', 'root'), false, 'the same name from another address')
  })

  it('limits one address over all names at maxPerAddress, without touching other addresses', () => {
    const { l } = limiter()
    for (let i = 0; i < 6; i++) {
      assert.equal(refused(l, '10.0.0.1', `user${i}`), false, `name ${i} is allowed`)
      fail(l, '10.0.0.1', `user${i}`)
    }
    assert.equal(refused(l, '10.0.0.1', 'fresh'), true, 'a name never tried is refused once the address is full')
    assert.equal(refused(l, '10.0.0.2', 'fresh'), false, 'another address is not')
  })

  it('defaults the per-address limit to 5 × the per-name limit', () => {
    const { l } = limiter({ max: 2, windowMs: 1000, maxAddresses: 100 })
    for (let i = 0; i < 10; i++) fail(l, 'a', `u${i}`)
    assert.equal(refused(l, 'a', 'u99'), true, 'ten failures fill the address')
    const { l: other } = limiter({ max: 2, windowMs: 1000, maxAddresses: 100 })
    for (let i = 0; i < 9; i++) fail(other, 'a', `u${i}`)
    assert.equal(refused(other, 'a', 'u99'), false, 'nine do not')
  })

  it('counts an attempt from its start, so concurrent guesses cannot pass the limit', () => {
    const { l } = limiter()
    const underWay = [l.begin('a', 'root'), l.begin('a', 'root'), l.begin('a', 'root')]
    assert.equal(refused(l, 'a', 'root'), true, 'three attempts under way fill the pair')
    underWay[0]!.forgive()
    underWay[0]!.forgive()
    assert.equal(refused(l, 'a', 'root'), false, 'one forgiven (twice: idempotent) frees one place')
  })

  it('a success forgives only itself: earlier failures stay until the window passes', () => {
    const { l } = limiter()
    fail(l, 'a', 'root', 2)
    l.begin('a', 'root').forgive()
    fail(l, 'a', 'root')
    assert.equal(refused(l, 'a', 'root'), true, 'two failures, a success, a failure: three failures')
  })

  it('failures leave the window after windowMs (injected clock)', () => {
    const { l, clock } = limiter()
    fail(l, 'a', 'root')
    clock.t += 400
    fail(l, 'a', 'root', 2)
    clock.t += 599
    assert.equal(refused(l, 'a', 'root'), true, 'at 999 ms the first failure still counts')
    clock.t += 1
    assert.equal(refused(l, 'a', 'root'), false, 'at 1000 ms it has left the window')
    fail(l, 'a', 'root')
    assert.equal(refused(l, 'a', 'root'), true, 'the two from 400 ms and the new one fill it again')
    clock.t += 400
    assert.equal(refused(l, 'a', 'root'), false, 'the two from 400 ms have left')
  })

  it('a forgiven attempt whose time has passed takes nothing else out', () => {
    const { l, clock } = limiter()
    const old = l.begin('a', 'root')
    clock.t += 1000
    fail(l, 'a', 'root', 3)
    old.forgive()
    assert.equal(refused(l, 'a', 'root'), true, 'the three new failures still count')
  })

  it('keeps at most maxAddresses addresses and as many pairs, dropping the least recently failed', () => {
    const { l } = limiter({ max: 1, windowMs: 1000, maxAddresses: 4, maxPerAddress: 100 })
    for (let i = 0; i < 20; i++) fail(l, `10.0.0.${i}`, 'root')
    for (let i = 0; i < 20; i++) fail(l, '10.9.9.9', `user${i}`)
    assert.deepEqual(l.tracked(), { addresses: 4, pairs: 4 })
    assert.equal(refused(l, '10.9.9.9', 'user19'), true, 'the most recent pair is kept')
    assert.equal(refused(l, '10.9.9.9', 'user0'), false, 'the oldest pair was dropped')
  })

  it('drops buckets whose failures have all left the window', () => {
    const { l, clock } = limiter()
    for (let i = 0; i < 50; i++) fail(l, `10.0.0.${i}`, `user${i}`)
    assert.deepEqual(l.tracked(), { addresses: 50, pairs: 50 })
    clock.t += 1000
    fail(l, '10.1.1.1', 'root')
    assert.deepEqual(l.tracked(), { addresses: 1, pairs: 1 })
  })

  it('tells long names apart by their whole text', () => {
    const { l } = limiter()
    const long = 'x'.repeat(1 << 20)
    fail(l, 'a', `${long}1`, 3)
    assert.equal(refused(l, 'a', `${long}1`), true, 'the long name is limited')
    assert.equal(refused(l, 'a', `${long}2`), false, 'a long name differing only at its end is another pair')
  })
})
