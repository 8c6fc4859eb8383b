/**
 * etcdctl 3.4 over gRPC with TLS, as etcd is run for real: a member serving https with
 * --client-cert-auth answers etcdctl with the CA and a client certificate (the certificate's CN is
 * the user once auth is on), refuses one without a certificate, and still serves the JSON API
 * over HTTP/1.1 on the same port (a client offering h2 and http/1.1 by ALPN, as curl does, gets
 * HTTP/1.1).
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { connect } from 'node:tls'
import { memberFetch } from '../../src/member/index.ts'
import { killOnExit } from '../kill-on-exit.ts'
import { issue, makeCa, tempDir, type Ca, type CertFiles } from '../tls/certs.ts'
import { spawnClientCertMember, waitHealthy, type MemberProcess } from '../tls/processes.ts'

interface Run {
  readonly code: number | null
  readonly out: string
  readonly err: string
}

describe('etcdctl (gRPC) over TLS with client certificates', { timeout: 120_000 }, () => {
  let dir = ''
  let ca: Ca
  let member: MemberProcess
  let root: CertFiles
  let alice: CertFiles

  before(async () => {
    dir = tempDir('edgecd-ctl-tls-')
    ca = makeCa(dir, 'ca')
    root = issue(ca, 'root', 'root')
    alice = issue(ca, 'alice', 'alice')
    member = await spawnClientCertMember(ca, dir)
    await waitHealthy(member.url, memberFetch({ ca: readFileSync(ca.cert), cert: readFileSync(root.cert), key: readFileSync(root.key) }))
  })

  after(async () => {
    await member.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  function etcdctl(args: readonly string[], cert: CertFiles | null): Promise<Run> {
    const identity = cert === null ? [] : [`--cert=${cert.cert}`, `--key=${cert.key}`]
    return new Promise((resolve) => {
      const child = execFile(
        'etcdctl',
        [`--endpoints=${member.url}`, `--cacert=${ca.cert}`, ...identity, '--command-timeout=5s', '--dial-timeout=3s', ...args],
        { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 30_000 },
        (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, out: stdout, err: stderr }),
      )
      killOnExit(child)
    })
  }

  async function ok(args: readonly string[], cert: CertFiles): Promise<string> {
    const r = await etcdctl(args, cert)
    assert.equal(r.code, 0, `etcdctl ${args.join(' ')}:\n${r.out}${r.err}`)
    return r.out
  }

  it('puts, gets and reads the status with a certificate of the CA', async () => {
    assert.equal(await ok(['put', 'tls/a', 'one'], root), 'OK\n')
    assert.equal(await ok(['get', 'tls/a', '--print-value-only'], root), 'one\n')
    const status = JSON.parse(await ok(['endpoint', 'status', '-w', 'json'], root))
    assert.equal(status[0].Endpoint, member.url)
    assert.equal(status[0].Status.version, '3.4.23')
  })

  it('without a client certificate the handshake is refused', async () => {
    const r = await etcdctl(['get', 'tls/a'], null)
    // etcdctl keeps redialling until its deadline: the handshake never completes.
    assert.equal(r.code, 1, r.out + r.err)
    assert.match(r.err, /Error: context deadline exceeded/)
    assert.match(r.err, /TransientFailure|handshake|certificate/)
  })

  it('with auth on, the certificate CN is the user of a gRPC call', async () => {
    await ok(['user', 'add', 'root:rootpw'], root)
    await ok(['user', 'grant-role', 'root', 'root'], root)
    await ok(['role', 'add', 'reader'], root)
    await ok(['role', 'grant-permission', 'reader', 'read', 'tls/', '--prefix=true'], root)
    await ok(['user', 'add', 'alice', '--no-password'], root)
    await ok(['user', 'grant-role', 'alice', 'reader'], root)
    await ok(['auth', 'enable'], root)
    assert.equal(await ok(['get', 'tls/a', '--print-value-only'], alice), 'one\n')
    const denied = await etcdctl(['put', 'tls/a', 'two'], alice)
    assert.match(denied.err, /Error: etcdserver: permission denied/)
    assert.equal(await ok(['put', 'tls/a', 'two'], root), 'OK\n')
  })

  it('a client offering h2 and http/1.1 by ALPN gets HTTP/1.1; one offering only h2 gets h2', async () => {
    const negotiated = (protocols: string[]): Promise<string | false | null> =>
      new Promise((resolve, reject) => {
        const socket = connect({
          host: '127.0.0.1',
          port: Number(new URL(member.url).port),
          ca: readFileSync(ca.cert),
          cert: readFileSync(root.cert),
          key: readFileSync(root.key),
          ALPNProtocols: protocols,
        })
        socket.once('secureConnect', () => {
          resolve(socket.alpnProtocol)
          socket.destroy()
        })
        socket.once('error', reject)
      })
    assert.equal(await negotiated(['h2', 'http/1.1']), 'http/1.1')
    assert.equal(await negotiated(['h2']), 'h2')
  })
})
