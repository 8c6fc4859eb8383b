/**
 * The gateway's per-client count of failed logins (src/gateway/login-limiter.ts) with an injected
 * clock: the limit, window expiry, attempts counted while under way, and the bounded table.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { LoginLimiter, type LoginLimits } from '../../src/gateway/login-limiter.ts'

function limiter(limits: LoginLimits = { max: 2, windowMs: 1000, maxClients: 100 }): { l: LoginLimiter; clock: { t: number } } {
  const clock = { t: 7_000 }
  return { l: new LoginLimiter(limits, () => clock.t), clock }
}

/** Whether `client` would be let through now (the probe takes itself back). */
function allowed(l: LoginLimiter, client: string): boolean {
  const attempt = l.begin(client)
  attempt?.forgive()
  return attempt !== null
}

describe('gateway login limiter', () => {
  it('refuses a client at max failures, and only that client', () => {
    const { l } = limiter()
    l.begin('A')
    assert.equal(allowed(l, 'A'), true, 'one failure is under the limit of two')
    l.begin('A')
    assert.equal(allowed(l, 'A'), false, 'two fill it')
    assert.equal(allowed(l, 'B'), true, 'B is another client')
  })

  it('failures leave the window after windowMs', () => {
    const { l, clock } = limiter()
    l.begin('A')
    clock.t += 500
    l.begin('A')
    clock.t += 499
    assert.equal(allowed(l, 'A'), false, 'at 999 ms the first still counts')
    clock.t += 1
    assert.equal(allowed(l, 'A'), true, 'at 1000 ms it has left')
  })

  it('attempts count while under way; forgiving one (once, however often it is called) frees its place', () => {
    const { l } = limiter()
    const first = l.begin('A')
    l.begin('A')
    assert.equal(l.begin('A'), null, 'two under way fill the limit')
    first?.forgive()
    first?.forgive()
    assert.equal(allowed(l, 'A'), true, 'one place free again')
    l.begin('A')
    assert.equal(allowed(l, 'A'), false, 'and only one')
  })

  it('tracks at most maxClients, dropping the least recently counted first', () => {
    const { l } = limiter({ max: 1, windowMs: 1000, maxClients: 3 })
    for (const client of ['A', 'B', 'C', 'D', 'E']) l.begin(client)
    assert.equal(l.size, 3)
    assert.equal(allowed(l, 'E'), false, 'the latest is kept')
    assert.equal(allowed(l, 'A'), true, 'the oldest was dropped')
  })

  it('drops clients whose failures have all left the window', () => {
    const { l, clock } = limiter()
    for (let i = 0; i < 30; i++) l.begin(`10.0.0.${i}`)
    assert.equal(l.size, 30)
    clock.t += 1000
    l.begin('10.1.1.1')
    assert.equal(l.size, 1)
  })

  it('forgiving an attempt of a dropped client leaves its new count alone', () => {
    const { l } = limiter({ max: 1, windowMs: 1000, maxClients: 1 })
    const old = l.begin('A')
    l.begin('B')
    l.begin('A')
    old?.forgive()
    assert.equal(allowed(l, 'A'), false, "A's new failure still counts")
  })
})
