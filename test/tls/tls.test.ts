/**
 * TLS on real member processes, with certificates made by openssl for the run:
 *
 * - one member serving https with --client-cert-auth: a client with a certificate of the CA is
 *   served (unary calls and a watch stream); no certificate, another CA's certificate and plain
 *   HTTP are refused; with auth on, the certificate's CN is the user of a call without token;
 * - three members with TLS and --peer-client-cert-auth on the mesh: they elect a leader and
 *   replicate, a follower forwards a leader-only call over TLS; a plain-text peer, and a wss peer
 *   without a certificate of the peer CA, are refused.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, rmSync } from 'node:fs'
import WebSocket from 'ws'
import { memberFetch, type DialTls } from '../../src/member/index.ts'
import { issue, makeCa, tempDir, type Ca, type CertFiles } from './certs.ts'
import { freePort, spawnMember, waitHealthy, type MemberProcess } from './processes.ts'

const b64 = (s: string): string => Buffer.from(s).toString('base64')

/** TLS client options presenting `cert` (if any) and trusting `ca`. */
function dial(ca: Ca, cert: CertFiles | null): DialTls {
  const own = cert === null ? {} : { cert: readFileSync(cert.cert), key: readFileSync(cert.key) }
  return { ca: readFileSync(ca.cert), ...own }
}

function client(ca: Ca, cert: CertFiles | null): typeof fetch {
  return memberFetch(dial(ca, cert))
}

async function post(
  f: typeof fetch,
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: any }> {
  const res = await f(url, { method: 'POST', body: JSON.stringify(body), headers })
  return { status: res.status, json: await res.json() }
}

describe('client TLS with client certificates', () => {
  let dir = ''
  let ca: Ca
  let member: MemberProcess
  let alice: typeof fetch
  let root: typeof fetch

  before(async () => {
    dir = tempDir('edgecd-tls-')
    ca = makeCa(dir, 'ca')
    const server = issue(ca, 'm1', 'm1')
    member = spawnMember({
      name: 'm1',
      scheme: 'https',
      port: await freePort(),
      dir,
      flags: ['--cert-file', server.cert, '--key-file', server.key, '--trusted-ca-file', ca.cert, '--client-cert-auth'],
    })
    alice = client(ca, issue(ca, 'alice', 'alice'))
    root = client(ca, issue(ca, 'root', 'root'))
    await waitHealthy(member.url, alice)
  })

  after(async () => {
    await member.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('serves a client with a certificate of the CA, over unary calls and a watch stream', async () => {
    const controller = new AbortController()
    const watch = await alice(`${member.url}/v3/watch`, {
      method: 'POST',
      body: JSON.stringify({ create_request: { key: b64('w') } }),
      signal: controller.signal,
    })
    const reader = (watch.body as ReadableStream<Uint8Array>).getReader()
    const created = new TextDecoder().decode((await reader.read()).value)
    assert.match(created, /"created":true/)
    assert.equal((await post(alice, `${member.url}/v3/kv/put`, { key: b64('w'), value: b64('v') })).status, 200)
    let text = ''
    while (!text.includes('"events"')) text += new TextDecoder().decode((await reader.read()).value)
    assert.match(text, new RegExp(b64('w')))
    controller.abort()
  })

  it('refuses no certificate, a certificate of another CA, and plain HTTP', async () => {
    const other = makeCa(tempDir('edgecd-other-ca-'), 'other')
    const mallory = memberFetch({ ...dial(other, issue(other, 'mallory', 'root')), ca: readFileSync(ca.cert) })
    const anonymous = client(ca, null)
    await assert.rejects(post(anonymous, `${member.url}/v3/kv/range`, { key: b64('w') }))
    await assert.rejects(post(mallory, `${member.url}/v3/kv/range`, { key: b64('w') }))
    await assert.rejects(fetch(`${member.url.replace('https:', 'http:')}/v3/kv/range`, { method: 'POST', body: '{}' }))
    rmSync(other.dir, { recursive: true, force: true })
  })

  it('with auth on, the certificate CN is the user of a call without token; a token wins', async () => {
    const setup: readonly [string, unknown][] = [
      ['/v3/auth/user/add', { name: 'root', password: 'rootpw' }],
      ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
      ['/v3/auth/role/add', { name: 'reader' }],
      ['/v3/auth/role/grant', { name: 'reader', perm: { key: b64('a/'), range_end: b64('a0') } }],
      ['/v3/auth/user/add', { name: 'alice', options: { no_password: true } }],
      ['/v3/auth/user/grant', { user: 'alice', role: 'reader' }],
      ['/v3/auth/enable', {}],
    ]
    for (const [path, body] of setup) assert.equal((await post(root, member.url + path, body)).status, 200, path)
    assert.equal((await post(alice, `${member.url}/v3/kv/range`, { key: b64('a/x') })).status, 200)
    const denied = await post(alice, `${member.url}/v3/kv/range`, { key: b64('b') })
    assert.deepEqual([denied.status, denied.json.message], [403, 'etcdserver: permission denied'])
    assert.equal((await post(root, `${member.url}/v3/kv/range`, { key: b64('b') })).status, 200)
    const token = (await post(alice, `${member.url}/v3/auth/authenticate`, { name: 'root', password: 'rootpw' })).json.token
    assert.equal((await post(alice, `${member.url}/v3/kv/range`, { key: b64('b') }, { Authorization: token })).status, 200)
    const bad = await post(alice, `${member.url}/v3/auth/authenticate`, { name: 'alice', password: '' })
    assert.equal(bad.status, 400)
  })
})

describe('peer TLS with peer certificates', () => {
  let dir = ''
  let ca: Ca
  let members: MemberProcess[] = []
  let f: typeof fetch

  before(async () => {
    dir = tempDir('edgecd-peer-tls-')
    ca = makeCa(dir, 'ca')
    const ports = [await freePort(), await freePort(), await freePort()]
    const names = ['p1', 'p2', 'p3']
    const initialCluster = names.map((n, i) => `${n}=https://127.0.0.1:${ports[i]}`).join(',')
    members = names.map((name, i) => {
      const cert = issue(ca, name, name)
      const files = ['--cert-file', cert.cert, '--key-file', cert.key, '--trusted-ca-file', ca.cert]
      const peer = ['--peer-cert-file', cert.cert, '--peer-key-file', cert.key, '--peer-trusted-ca-file', ca.cert]
      return spawnMember({
        name,
        scheme: 'https',
        port: ports[i] as number,
        dir,
        initialCluster,
        flags: [...files, ...peer, '--peer-client-cert-auth'],
      })
    })
    f = client(ca, issue(ca, 'client', 'client'))
    for (const m of members) await waitHealthy(m.url, f, 30_000)
  })

  after(async () => {
    await Promise.all(members.map((m) => m.stop()))
    rmSync(dir, { recursive: true, force: true })
  })

  it('elects, replicates over wss, and forwards a leader-only call over https', async () => {
    const first = members[0] as MemberProcess
    assert.equal((await post(f, `${first.url}/v3/kv/put`, { key: b64('k'), value: b64('v') })).status, 200)
    for (const m of members) {
      let count: string | undefined
      for (let i = 0; i < 50 && count !== '1'; i++) {
        count = (await post(f, `${m.url}/v3/kv/range`, { key: b64('k'), serializable: true })).json.count
        if (count !== '1') await new Promise((r) => setTimeout(r, 100))
      }
      assert.equal(count, '1', m.name)
    }
    const leader = (await post(f, `${first.url}/v3/maintenance/status`, {})).json.leader
    let follower = first
    for (const m of members)
      if ((await post(f, `${m.url}/v3/maintenance/status`, {})).json.header.member_id !== leader) follower = m
    const lease = await post(f, `${follower.url}/v3/lease/grant`, { TTL: 60 })
    for (const m of members) {
      const ttl = await post(f, `${m.url}/v3/lease/timetolive`, { ID: lease.json.ID })
      assert.equal(ttl.status, 200, JSON.stringify(ttl.json))
      assert.ok(Number(ttl.json.TTL) > 0)
    }
  })

  it('refuses a plain-text peer and a wss peer without a certificate of the peer CA', async () => {
    const target = members[0] as MemberProcess
    const peerUrl = `${target.url.replace('https:', 'wss:')}/raft/peer`
    const headers = { 'x-edgecd-cluster-token': 'edgecd-cluster', 'x-edgecd-member-id': '1' }
    const outcome = (ws: WebSocket): Promise<string> =>
      new Promise((resolve) => {
        ws.once('open', () => resolve('open'))
        ws.once('unexpected-response', (_req, res) => resolve(`HTTP ${res.statusCode}`))
        ws.once('error', (err) => resolve(`error: ${err.message}`))
      })
    const plain = await outcome(new WebSocket(peerUrl.replace('wss:', 'ws:'), { headers }))
    assert.match(plain, /^error/)
    assert.equal(await outcome(new WebSocket(peerUrl, { headers, ...dial(ca, null) })), 'HTTP 403')
    const other = makeCa(tempDir('edgecd-other-ca-'), 'other')
    const foreign = { ...dial(other, issue(other, 'p9', 'p1')), ca: readFileSync(ca.cert) }
    assert.notEqual(await outcome(new WebSocket(peerUrl, { headers, ...foreign })), 'open')
    rmSync(other.dir, { recursive: true, force: true })
  })
})
