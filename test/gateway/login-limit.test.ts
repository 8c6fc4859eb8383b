/**
 * The gateway's own limit on failed logins per client address (src/gateway/login-guard.ts),
 * against three fake members (fake-cluster.ts) that count what reaches them:
 *
 * - on Node, by the real socket address, under @hono/node-server and under the node:http fast
 *   path that workers/gateway-node.ts serves: clients connecting from 127.0.0.2, .3 and .4 (Linux
 *   routes all of 127/8 to loopback); a client's CF-Connecting-IP header changes nothing there;
 * - on the Workers path (no Node bindings), by the CF-Connecting-IP header;
 * - with an injected address function and clock: window expiry, concurrent guesses, answers that
 *   are not failures, and the limit turned off;
 * - the refusal is byte for byte what a real member answers (test/auth/single-member.ts).
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { createGatewayApp, DEFAULT_LOGIN_LIMITS, gatewayOptionsFromEnv, GatewayConfigError, type GatewayOptions } from '../../src/gateway/index.ts'
import { startSingleMember } from '../auth/single-member.ts'
import { FakeCluster } from './fake-cluster.ts'
import { startGateway, startNodeGateway, type RunningGateway } from './serve-gateway.ts'

const PATH = '/v3/auth/authenticate'
const TOO_MANY = '{"error":"etcdserver: too many requests","message":"etcdserver: too many requests","code":8}'
const FAILED_MESSAGE = 'etcdserver: authentication failed, invalid user ID or password'

interface Answer {
  readonly status: number
  readonly contentType: string | undefined
  readonly text: string
}

/** POSTs `body` to the gateway from the local address `from`. */
function postFrom(from: string, url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', localAddress: from, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], text }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
}


/** A gateway app called in-process (no socket: the Workers path unless an address function is given). */
function inProcess(options: GatewayOptions): (body: unknown, headers?: Record<string, string>) => Promise<Answer> {
  const app = createGatewayApp(options)
  return async (body, headers = {}) => {
    const res = await app.request(PATH, { method: 'POST', body: JSON.stringify(body), headers }, {})
    return { status: res.status, contentType: res.headers.get('content-type') ?? undefined, text: await res.text() }
  }
}

const hits = (cluster: FakeCluster): number => cluster.hits(PATH).reduce((a, b) => a + b, 0)
const isFailed = (a: Answer): boolean => a.status === 400 && JSON.parse(a.text).message === FAILED_MESSAGE

describe('gateway: failed logins limited per client address', { timeout: 30_000 }, () => {
  let cluster: FakeCluster
  before(async () => {
    cluster = await FakeCluster.start()
    cluster.users.set('alice', 'alicepw')
  })
  after(() => cluster.close())

  for (const [server, start] of [
    ['@hono/node-server', startGateway],
    ['node:http fast path (workers/gateway-node.ts)', startNodeGateway],
  ] as const) {
    describe(`on Node, by the socket address: ${server}`, () => {
      let gw: RunningGateway
      before(async () => {
        gw = await start({ endpoints: cluster.urls })
      })
      after(() => gw.close())

      test("client A's failures lock out A, without reaching the cluster, but not client B", async () => {
        const url = gw.url + PATH
        const before = hits(cluster)
        const limit = DEFAULT_LOGIN_LIMITS.max
        for (let i = 0; i < limit; i++) {
          const a = await postFrom('127.0.0.2', url, { name: 'alice', password: 'guess' })
          assert.ok(isFailed(a), `guess ${i}: ${a.status} ${a.text}`)
        }
        assert.equal(hits(cluster) - before, limit, 'the guesses up to the default limit reached the cluster')
        const locked = await postFrom('127.0.0.2', url, { name: 'alice', password: 'alicepw' })
        assert.deepEqual([locked.status, locked.text], [429, TOO_MANY], 'A is refused even with the right password')
        const spoofed = await postFrom('127.0.0.2', url, { name: 'alice', password: 'alicepw' }, { 'CF-Connecting-IP': '192.0.2.1' })
        assert.equal(spoofed.status, 429, 'on Node a CF-Connecting-IP header does not make A someone else')
        assert.equal(hits(cluster) - before, limit, 'the refusals did not reach the cluster')
        const b = await postFrom('127.0.0.3', url, { name: 'alice', password: 'alicepw' })
        assert.deepEqual([b.status, JSON.parse(b.text).token], [200, 'token-of-alice'], 'B logs in as the same user')
        assert.equal(hits(cluster) - before, limit + 1, "B's login reached the cluster")
      })

      test('the refusal is what a member answers: same status, content type and body', async () => {
        const member = await startSingleMember({ auth: { failures: { max: 1, windowMs: 60_000, maxAddresses: 10 } } })
        try {
          for (const [path, body] of [
            ['/v3/auth/user/add', { name: 'root', password: 'rootpw' }],
            ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
            ['/v3/auth/enable', {}],
          ] as const) assert.equal((await member.call(path, body)).status, 200, path)
          await member.call(PATH, { name: 'root', password: 'guess' })
          const fromMember = await member.app.request(PATH, { method: 'POST', body: JSON.stringify({ name: 'root', password: 'guess' }) })
          for (let i = 0; i < DEFAULT_LOGIN_LIMITS.max; i++) await postFrom('127.0.0.4', gw.url + PATH, { name: 'alice', password: 'guess' })
          const fromGateway = await postFrom('127.0.0.4', gw.url + PATH, { name: 'alice', password: 'guess' })
          assert.deepEqual(
            [fromGateway.status, fromGateway.contentType, fromGateway.text],
            [fromMember.status, fromMember.headers.get('content-type'), await fromMember.text()],
          )
        } finally {
          await member.stop()
        }
      })
    })
  }

  test('on the Workers path, by the CF-Connecting-IP header; without one the gateway does not limit', async () => {
    const call = inProcess({ endpoints: cluster.urls, authFailures: { max: 2, windowMs: 60_000, maxClients: 10 } })
    const a = { 'CF-Connecting-IP': '198.51.100.7' }
    for (let i = 0; i < 2; i++) assert.ok(isFailed(await call({ name: 'alice', password: 'guess' }, a)), `guess ${i}`)
    assert.equal((await call({ name: 'alice', password: 'alicepw' }, a)).status, 429, 'A is locked out')
    const b = await call({ name: 'alice', password: 'alicepw' }, { 'CF-Connecting-IP': '2001:db8::1' })
    assert.equal(b.status, 200, 'B is not')
    const before = hits(cluster)
    for (let i = 0; i < 4; i++) assert.ok(isFailed(await call({ name: 'alice', password: 'guess' })), `unaddressed guess ${i}`)
    assert.equal(hits(cluster) - before, 4, 'with no address every guess goes on to the members')
    const junk = { 'CF-Connecting-IP': 'x'.repeat(100) }
    for (let i = 0; i < 3; i++) assert.ok(isFailed(await call({ name: 'alice', password: 'guess' }, junk)), `junk address ${i}`)
  })

  describe('with an injected address and clock', () => {
    let client = 'A'
    const clock = { t: 1_000_000 }
    const limited = (extra: Partial<GatewayOptions> = {}) =>
      inProcess({
        endpoints: cluster.urls,
        authFailures: { max: 3, windowMs: 10_000, maxClients: 100 },
        clientAddress: () => client,
        now: () => clock.t,
        ...extra,
      })

    test('failures leave the window after windowMs', async () => {
      const call = limited()
      client = 'A'
      for (let i = 0; i < 3; i++) assert.ok(isFailed(await call({ name: 'alice', password: 'guess' })), `guess ${i}`)
      clock.t += 9_999
      assert.equal((await call({ name: 'alice', password: 'alicepw' })).status, 429, 'still locked at 9999 ms')
      clock.t += 1
      assert.equal((await call({ name: 'alice', password: 'alicepw' })).status, 200, 'free again at 10000 ms')
    })

    test('concurrent guesses: only the limit of them reach the cluster', async () => {
      const call = limited()
      client = 'A'
      const before = hits(cluster)
      const answers = await Promise.all(Array.from({ length: 8 }, () => call({ name: 'alice', password: 'guess' })))
      assert.deepEqual(
        [answers.filter(isFailed).length, answers.filter((a) => a.status === 429).length],
        [3, 5],
        answers.map((a) => a.status).join(','),
      )
      assert.equal(hits(cluster) - before, 3, 'three reached the cluster')
    })

    test('answers that are not failed logins do not count: successes, auth not enabled', async () => {
      const call = limited()
      client = 'A'
      for (let i = 0; i < 5; i++) assert.equal((await call({ name: 'alice', password: 'alicepw' })).status, 200, `login ${i}`)
      const users = new Map(cluster.users)
      cluster.users.clear()
      try {
        for (let i = 0; i < 5; i++) assert.equal((await call({ name: 'alice', password: 'x' })).status, 412, `auth off ${i}`)
      } finally {
        for (const [name, pw] of users) cluster.users.set(name, pw)
      }
      for (let i = 0; i < 3; i++) assert.ok(isFailed(await call({ name: 'alice', password: 'guess' })), `guess ${i}`)
      assert.equal((await call({ name: 'alice', password: 'guess' })).status, 429, 'three failures, then the limit')
    })

    test('authFailures null: the gateway passes every attempt on', async () => {
      const call = limited({ authFailures: null })
      client = 'A'
      for (let i = 0; i < 6; i++) assert.ok(isFailed(await call({ name: 'alice', password: 'guess' })), `guess ${i}`)
    })
  })
})

test('EDGECD_AUTH_FAILURE_LIMIT and EDGECD_AUTH_FAILURE_WINDOW_MS', () => {
  const base = { EDGECD_ENDPOINTS: 'http://127.0.0.1:2381' }
  assert.equal('authFailures' in gatewayOptionsFromEnv(base), false, 'unset: the app default')
  assert.deepEqual(gatewayOptionsFromEnv({ ...base, EDGECD_AUTH_FAILURE_LIMIT: '3' }).authFailures, {
    max: 3,
    windowMs: 10_000,
    maxClients: 10_000,
  })
  assert.deepEqual(gatewayOptionsFromEnv({ ...base, EDGECD_AUTH_FAILURE_WINDOW_MS: '60000' }).authFailures, {
    max: 49,
    windowMs: 60_000,
    maxClients: 10_000,
  })
  assert.equal(gatewayOptionsFromEnv({ ...base, EDGECD_AUTH_FAILURE_LIMIT: '0' }).authFailures, null, '0 turns it off')
  for (const [name, value] of [
    ['EDGECD_AUTH_FAILURE_LIMIT', '-1'],
    ['EDGECD_AUTH_FAILURE_LIMIT', '2.5'],
    ['EDGECD_AUTH_FAILURE_WINDOW_MS', '0'],
    ['EDGECD_AUTH_FAILURE_WINDOW_MS', 'ten'],
  ] as const) {
    assert.throws(() => gatewayOptionsFromEnv({ ...base, [name]: value }), (e: unknown) => e instanceof GatewayConfigError && e.message.startsWith(name), `${name}=${value}`)
  }
})
