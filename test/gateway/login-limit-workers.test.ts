/**
 * The gateway's limit on failed logins as a Worker, for real (`wrangler dev`, local workerd:
 * wrangler-harness.ts), with its defaults (49 failures in 10 s): clients are told apart by the
 * CF-Connecting-IP header, which Cloudflare's edge sets (and wrangler dev passes through as the
 * client sent it). Client A's failures lock out A without reaching the fake members; client B
 * still logs in.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { DEFAULT_LOGIN_LIMITS } from '../../src/gateway/index.ts'
import { FakeCluster } from './fake-cluster.ts'
import { startWorkersGateway, type WorkersGateway } from './wrangler-harness.ts'

const PATH = '/v3/auth/authenticate'
const TOO_MANY = '{"error":"etcdserver: too many requests","message":"etcdserver: too many requests","code":8}'

describe('Worker gateway: failed logins limited per CF-Connecting-IP', { timeout: 90_000 }, () => {
  let cluster: FakeCluster
  let gw: WorkersGateway
  before(async () => {
    cluster = await FakeCluster.start()
    cluster.users.set('alice', 'alicepw')
    gw = await startWorkersGateway({ endpoints: cluster.urls })
  })
  after(async () => {
    await gw?.close()
    await cluster?.close()
  })

  const login = async (ip: string, password: string): Promise<[number, string]> => {
    const res = await fetch(gw.url + PATH, {
      method: 'POST',
      body: JSON.stringify({ name: 'alice', password }),
      headers: { 'CF-Connecting-IP': ip },
    })
    return [res.status, await res.text()]
  }
  const hits = (): number => cluster.hits(PATH).reduce((a, b) => a + b, 0)

  test("client A's failures lock out A, without reaching the cluster, but not client B", async () => {
    const limit = DEFAULT_LOGIN_LIMITS.max
    for (let i = 0; i < limit; i++) assert.equal((await login('198.51.100.7', 'guess'))[0], 400, `guess ${i}`)
    assert.equal(hits(), limit, 'the guesses up to the limit reached the cluster')
    assert.deepEqual(await login('198.51.100.7', 'alicepw'), [429, TOO_MANY], 'A is refused even with the right password')
    assert.equal(hits(), limit, 'the refusal did not reach the cluster')
    const [status, text] = await login('2001:db8::2', 'alicepw')
    assert.deepEqual([status, JSON.parse(text).token], [200, 'token-of-alice'], 'B logs in')
  })
})

describe('Worker gateway: the limit set through its variables', { timeout: 90_000 }, () => {
  let cluster: FakeCluster
  let gw: WorkersGateway
  before(async () => {
    cluster = await FakeCluster.start()
    cluster.users.set('alice', 'alicepw')
    gw = await startWorkersGateway({ endpoints: cluster.urls, authFailures: { max: 2, windowMs: 60_000, maxClients: 10_000 } })
  })
  after(async () => {
    await gw?.close()
    await cluster?.close()
  })

  test('EDGECD_AUTH_FAILURE_LIMIT=2 refuses the third attempt', async () => {
    const login = async (): Promise<number> =>
      (await fetch(gw.url + PATH, {
        method: 'POST',
        body: JSON.stringify({ name: 'alice', password: 'guess' }),
        headers: { 'CF-Connecting-IP': '198.51.100.9' },
      })).status
    assert.deepEqual([await login(), await login(), await login()], [400, 400, 429])
  })
})
