/**
 * TLS on real member processes, with certificates made by openssl for the run:
 *
 * - one member serving https with --client-cert-auth: a client with a certificate of the CA is
 *   served (unary calls and a watch stream); no certificate, another CA's certificate and plain
 *   HTTP are refused; with auth on, the certificate's CN is the user of a call without token;
 * - three members with TLS and --peer-client-cert-auth on the mesh: they elect a leader and
 *   replicate, a follower forwards a leader-only call over TLS; a plain-text peer, and a wss peer
 *   without a certificate of the peer CA, are refused;
 * - three members with --client-cert-auth and auth on: a client known only by its certificate's
 *   CN (no token) is served leader-only calls through a follower (lease time to live and
 *   keepalive; a member change as root, denied as a non-root user); forwarded-user headers a
 *   client sends itself (no, a garbage, or a guessable proof) grant nothing, straight to the
 *   leader or through a follower, and a marked call is not forwarded again;
 * - three members with peers on ports of their own (--listen-peer-urls), each side with its own
 *   CA: clients over https with --client-cert-auth, peers over https with --peer-client-cert-auth.
 *   They elect and replicate; a CN-only client is served a leader-only call through a follower
 *   (forwarded over the peer ports); the peer port takes no caller without a certificate and
 *   serves a client's calls nothing (404), the client port refuses a peer's certificate, and on
 *   the peer port a peer certificate's CN is no user.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, rmSync } from 'node:fs'
import WebSocket from 'ws'
import { memberFetch, type DialTls } from '../../src/member/index.ts'
import { FORWARDED_HEADER } from '../../src/member/forward.ts'
import {
  FORWARDED_PROOF_HEADER, FORWARDED_USER_HEADER, forwardedUserKey, signForwardedUser,
} from '../../src/member/forwarded-user.ts'
import { issue, makeCa, tempDir, type Ca, type CertFiles } from './certs.ts'
import { freePort, spawnClientCertMember, spawnMember, waitHealthy, type MemberProcess } from './processes.ts'

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
    member = await spawnClientCertMember(ca, dir)
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
    assert.deepEqual([bad.status, bad.json.message], [500, 'auth: authentication failed, password was given for no password user'])
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

describe('certificate-only users through a follower (--client-cert-auth, auth on)', () => {
  let dir = ''
  let ca: Ca
  let members: MemberProcess[] = []
  let root: typeof fetch
  let alice: typeof fetch
  let leader: MemberProcess
  let leaderId = ''
  let follower: MemberProcess
  let followerMember: { ID: string; peerURLs: string[] }

  before(async () => {
    dir = tempDir('edgecd-cn-forward-')
    ca = makeCa(dir, 'ca')
    const ports = [await freePort(), await freePort(), await freePort()]
    const names = ['c1', 'c2', 'c3']
    const initialCluster = names.map((n, i) => `${n}=https://127.0.0.1:${ports[i]}`).join(',')
    members = names.map((name, i) => {
      const cert = issue(ca, name, name)
      const files = ['--cert-file', cert.cert, '--key-file', cert.key, '--trusted-ca-file', ca.cert, '--client-cert-auth']
      const peer = ['--peer-cert-file', cert.cert, '--peer-key-file', cert.key, '--peer-trusted-ca-file', ca.cert]
      return spawnMember({ name, scheme: 'https', port: ports[i] as number, dir, initialCluster, flags: [...files, ...peer] })
    })
    root = client(ca, issue(ca, 'root', 'root'))
    alice = client(ca, issue(ca, 'alice', 'alice'))
    for (const m of members) await waitHealthy(m.url, root, 30_000)
    const first = members[0] as MemberProcess
    leaderId = (await post(root, `${first.url}/v3/maintenance/status`, {})).json.leader
    for (const m of members) {
      const id = (await post(root, `${m.url}/v3/maintenance/status`, {})).json.header.member_id
      if (id === leaderId) leader = m
      else follower = m
    }
    const setup: readonly [string, unknown][] = [
      ['/v3/auth/user/add', { name: 'root', password: 'rootpw' }],
      ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
      ['/v3/auth/user/add', { name: 'alice', options: { no_password: true } }],
      ['/v3/auth/enable', {}],
    ]
    for (const [path, body] of setup) assert.equal((await post(root, leader.url + path, body)).status, 200, path)
    // The follower forwards with a proof only once it has applied the enable (and its key).
    let enabled = false
    for (let i = 0; i < 100 && !enabled; i++) {
      enabled = (await post(root, `${follower.url}/v3/auth/status`, {})).json.enabled === true
      if (!enabled) await new Promise((r) => setTimeout(r, 50))
    }
    assert.ok(enabled, 'the follower sees auth enabled')
    const followerId = (await post(root, `${follower.url}/v3/maintenance/status`, {})).json.header.member_id
    const list = (await post(root, `${follower.url}/v3/cluster/member/list`, {})).json.members as { ID: string; peerURLs: string[] }[]
    followerMember = list.find((x) => x.ID === followerId) ?? assert.fail('the follower is in the member list')
  })

  after(async () => {
    await Promise.all(members.map((m) => m.stop()))
    rmSync(dir, { recursive: true, force: true })
  })

  it('a CN-only client asks a lease time to live and keeps it alive through a follower', async () => {
    const lease = await post(alice, `${follower.url}/v3/lease/grant`, { TTL: 60 })
    assert.equal(lease.status, 200, JSON.stringify(lease.json))
    const ttl = await post(alice, `${follower.url}/v3/lease/timetolive`, { ID: lease.json.ID })
    assert.equal(ttl.status, 200, JSON.stringify(ttl.json))
    assert.ok(Number(ttl.json.TTL) > 0, JSON.stringify(ttl.json))
    const res = await alice(`${follower.url}/v3/lease/keepalive`, { method: 'POST', body: JSON.stringify({ ID: lease.json.ID }) })
    const text = await res.text()
    assert.equal(res.status, 200, text)
    assert.match(text, /"TTL":"60"/)
  })

  it('through a follower, a root CN may make a member change and a non-root CN may not', async () => {
    const update = { ID: followerMember.ID, peerURLs: followerMember.peerURLs }
    const asRoot = await post(root, `${follower.url}/v3/cluster/member/update`, update)
    assert.equal(asRoot.status, 200, JSON.stringify(asRoot.json))
    const asAlice = await post(alice, `${follower.url}/v3/cluster/member/update`, update)
    assert.deepEqual([asAlice.status, asAlice.json.message], [403, 'etcdserver: permission denied'])
  })

  it('forged forwarded-user headers from a client grant nothing and do not bypass the forwarding rule', async () => {
    const update = { ID: followerMember.ID, peerURLs: followerMember.peerURLs }
    const path = '/v3/cluster/member/update'
    const guessedKey = forwardedUserKey(new TextEncoder().encode('edgecd-cluster'), 'edgecd-cluster') as Buffer
    const forgeries: readonly [string, Record<string, string>][] = [
      ['no proof', { [FORWARDED_USER_HEADER]: 'root' }],
      ['a garbage proof', { [FORWARDED_USER_HEADER]: 'root', [FORWARDED_PROOF_HEADER]: `${Date.now()}.${'ab'.repeat(32)}` }],
      ['a proof keyed by the default cluster token', signForwardedUser(guessedKey, { target: Number(leaderId), method: 'POST', path }, 'root', Date.now())],
    ]
    for (const [name, claim] of forgeries) {
      // Straight to the leader, posing as a forwarding member: the claim is refused and alice's own CN dropped.
      const direct = await post(alice, leader.url + path, update, { [FORWARDED_HEADER]: '1', ...claim })
      assert.deepEqual([direct.status, direct.json.message], [400, 'etcdserver: user name is empty'], `leader, ${name}`)
      // To a follower without the marker: it forwards for the CN it verified itself (alice), never the claim.
      const viaFollower = await post(alice, follower.url + path, update, claim)
      assert.deepEqual([viaFollower.status, viaFollower.json.message], [403, 'etcdserver: permission denied'], `follower, ${name}`)
      // To a follower with the marker: a forwarded call is never forwarded again.
      const again = await post(alice, follower.url + path, update, { [FORWARDED_HEADER]: '1', ...claim })
      assert.deepEqual([again.status, again.json.message], [503, 'etcdserver: no leader'], `follower, marked, ${name}`)
    }
  })
})

describe('peers on ports of their own, with a CA of their own (--listen-peer-urls)', () => {
  let dir = ''
  let clientCa: Ca
  let peerCa: Ca
  const members: Array<{ process: MemberProcess; peerUrl: string }> = []
  let root: typeof fetch
  let alice: typeof fetch

  before(async () => {
    dir = tempDir('edgecd-peer-ports-tls-')
    clientCa = makeCa(dir, 'client-ca')
    peerCa = makeCa(dir, 'peer-ca')
    const names = ['s1', 's2', 's3']
    const ports = await Promise.all(names.map(async () => ({ client: await freePort(), peer: await freePort() })))
    const peerUrls = ports.map((p) => `https://127.0.0.1:${p.peer}`)
    const initialCluster = names.map((n, i) => `${n}=${peerUrls[i]}`).join(',')
    names.forEach((name, i) => {
      const served = issue(clientCa, name, name)
      const peer = issue(peerCa, `${name}-peer`, name)
      const flags = [
        '--listen-peer-urls', peerUrls[i] as string,
        '--cert-file', served.cert, '--key-file', served.key, '--trusted-ca-file', clientCa.cert, '--client-cert-auth',
        '--peer-cert-file', peer.cert, '--peer-key-file', peer.key, '--peer-trusted-ca-file', peerCa.cert, '--peer-client-cert-auth',
      ]
      const port = (ports[i] as { client: number }).client
      members.push({ process: spawnMember({ name, scheme: 'https', port, dir, initialCluster, flags }), peerUrl: peerUrls[i] as string })
    })
    root = client(clientCa, issue(clientCa, 'root', 'root'))
    alice = client(clientCa, issue(clientCa, 'alice', 'alice'))
    for (const m of members) await waitHealthy(m.process.url, root, 30_000)
  })

  after(async () => {
    await Promise.all(members.map((m) => m.process.stop()))
    rmSync(dir, { recursive: true, force: true })
  })

  it('elects and replicates over the peer ports; a CN-only client is served a leader-only call through a follower', async () => {
    const urls = members.map((m) => m.process.url)
    const leaderId = (await post(root, `${urls[0]}/v3/maintenance/status`, {})).json.leader
    let leaderUrl = ''
    let followerUrl = ''
    for (const url of urls) {
      if ((await post(root, `${url}/v3/maintenance/status`, {})).json.header.member_id === leaderId) leaderUrl = url
      else followerUrl = url
    }
    assert.notEqual(leaderUrl, '')
    const setup: readonly [string, unknown][] = [
      ['/v3/auth/user/add', { name: 'root', password: 'rootpw' }],
      ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
      ['/v3/auth/user/add', { name: 'alice', options: { no_password: true } }],
      ['/v3/auth/enable', {}],
    ]
    for (const [path, body] of setup) assert.equal((await post(root, leaderUrl + path, body)).status, 200, path)
    let enabled = false
    for (let i = 0; i < 100 && !enabled; i++) {
      enabled = (await post(root, `${followerUrl}/v3/auth/status`, {})).json.enabled === true
      if (!enabled) await new Promise((r) => setTimeout(r, 50))
    }
    assert.ok(enabled, 'the follower sees auth enabled')
    assert.equal((await post(root, `${followerUrl}/v3/kv/put`, { key: b64('k'), value: b64('v') })).status, 200)
    for (const url of urls) {
      let count: string | undefined
      for (let i = 0; i < 50 && count !== '1'; i++) {
        count = (await post(root, `${url}/v3/kv/range`, { key: b64('k'), serializable: true })).json.count
        if (count !== '1') await new Promise((r) => setTimeout(r, 100))
      }
      assert.equal(count, '1', url)
    }
    const lease = await post(alice, `${followerUrl}/v3/lease/grant`, { TTL: 60 })
    assert.equal(lease.status, 200, JSON.stringify(lease.json))
    const ttl = await post(alice, `${followerUrl}/v3/lease/timetolive`, { ID: lease.json.ID })
    assert.equal(ttl.status, 200, JSON.stringify(ttl.json))
    assert.ok(Number(ttl.json.TTL) > 0, JSON.stringify(ttl.json))
  })

  it("the peer port takes no caller without a certificate and serves clients nothing; the client port refuses a peer's certificate; a peer certificate's CN is no user", async () => {
    const { process: first, peerUrl } = members[0] as { process: MemberProcess; peerUrl: string }
    await assert.rejects(post(client(peerCa, null), `${peerUrl}/v3/cluster/member/list`, {}), 'no certificate, no peer port')
    const clientOnPeerPort = memberFetch({ ...dial(clientCa, issue(clientCa, 'root-2', 'root')), ca: readFileSync(peerCa.cert) })
    assert.equal((await clientOnPeerPort(`${peerUrl}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: b64('k') }) })).status, 404)
    const peerAsRoot = issue(peerCa, 'peer-root', 'root')
    const peerOnClientPort = memberFetch({ ...dial(peerCa, peerAsRoot), ca: readFileSync(clientCa.cert) })
    await assert.rejects(post(peerOnClientPort, `${first.url}/v3/kv/range`, { key: b64('k') }))
    // Marked as forwarded, without a proof: a peer certificate's CN counts for nothing.
    const onPeerPort = await post(client(peerCa, peerAsRoot), `${peerUrl}/v3/kv/range`, { key: b64('k') }, { [FORWARDED_HEADER]: '1' })
    assert.deepEqual([onPeerPort.status, onPeerPort.json.message], [400, 'etcdserver: user name is empty'])
  })
})
