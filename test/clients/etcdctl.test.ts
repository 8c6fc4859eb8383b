/**
 * etcd's own gRPC client against a real cluster: etcdctl 3.4 (Debian's etcd-client) talks gRPC to
 * the gateway's port (src/grpc, the same port as the JSON API): keys, txns, leases, watches,
 * member and endpoint status, snapshot, lock, errors with etcd's messages, and auth with users and
 * roles; and to each member's client port. `.ci/run` installs the package.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eventually, sleep, useCluster } from '../e2e/cluster-harness.ts'
import { killOnExit } from '../kill-on-exit.ts'

interface Run {
  readonly code: number | null
  readonly out: string
  readonly err: string
}

describe('etcdctl (gRPC) through the gateway and on the members', { timeout: 120_000 }, () => {
  const cluster = useCluster({ gateway: true })

  function etcdctl(args: readonly string[], input?: string, base = cluster.gatewayUrl): Promise<Run> {
    const endpoint = new URL(base).host
    return new Promise((resolve) => {
      const child = execFile(
        'etcdctl',
        [`--endpoints=${endpoint}`, '--command-timeout=10s', ...args],
        { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 30_000 },
        (err, stdout, stderr) => {
          resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, out: stdout, err: stderr })
        },
      )
      killOnExit(child)
      if (input !== undefined) child.stdin?.end(input)
    })
  }

  async function ok(args: readonly string[], input?: string): Promise<string> {
    const r = await etcdctl(args, input)
    assert.equal(r.code, 0, `etcdctl ${args.join(' ')}:\n${r.out}${r.err}`)
    return r.out
  }

  /** The last "Error: …" line etcdctl printed for a command that must fail. */
  async function fails(args: readonly string[]): Promise<string> {
    const r = await etcdctl(args)
    assert.notEqual(r.code, 0, `etcdctl ${args.join(' ')} succeeded:\n${r.out}`)
    return r.err.split('\n').filter((l) => l.startsWith('Error:')).pop() ?? r.err
  }

  test('etcdctl is installed (etcd-client)', async () => {
    const r = await etcdctl(['version'])
    assert.equal(r.code, 0, `etcdctl is missing: apt-get install etcd-client (as .ci/run does)\n${r.err}`)
    assert.match(r.out, /etcdctl version: 3\./)
  })

  test('keys: put, get (simple and json), prefix, delete', async () => {
    assert.equal(await ok(['put', 'ctl/a', 'one']), 'OK\n')
    assert.equal(await ok(['put', 'ctl/b', 'two']), 'OK\n')
    assert.equal(await ok(['get', 'ctl/a']), 'ctl/a\none\n')
    assert.equal(await ok(['get', '--prefix', 'ctl/', '--keys-only']), 'ctl/a\n\nctl/b\n\n')
    const json = JSON.parse(await ok(['get', 'ctl/a', '-w', 'json']))
    assert.equal(Buffer.from(json.kvs[0].key, 'base64').toString(), 'ctl/a')
    assert.equal(json.kvs[0].version, 1)
    assert.equal(json.count, 1)
    assert.ok(json.header.revision >= json.kvs[0].mod_revision)
    assert.equal(await ok(['del', 'ctl/b']), '1\n')
    assert.equal(await ok(['get', 'ctl/b']), '')
  })

  test('txn from stdin: compares, success and failure', async () => {
    const txn = 'value("ctl/a") = "one"\n\nput ctl/a uno\n\nput ctl/a eins\n\n'
    assert.equal(await ok(['txn'], txn), 'SUCCESS\n\nOK\n')
    assert.equal(await ok(['txn'], txn), 'FAILURE\n\nOK\n')
    assert.equal(await ok(['get', 'ctl/a', '--print-value-only']), 'eins\n')
  })

  test('leases: grant, a key under it, timetolive with keys, keep-alive once, revoke', async () => {
    const id = /lease ([0-9a-f]+) granted with TTL\(60s\)/.exec(await ok(['lease', 'grant', '60']))?.[1]
    assert.ok(id !== undefined)
    await ok(['put', '--lease', id, 'ctl/leased', 'v'])
    assert.match(await ok(['lease', 'timetolive', '--keys', id]), new RegExp(`lease ${id} granted with TTL\\(60s\\), remaining\\(\\d+s\\), attached keys\\(\\[ctl/leased\\]\\)`))
    assert.match(await ok(['lease', 'keep-alive', '--once', id]), new RegExp(`lease ${id} keepalived with TTL\\(60\\)`))
    assert.match(await ok(['lease', 'list']), new RegExp(id))
    assert.match(await ok(['lease', 'revoke', id]), /revoked/)
    assert.equal(await ok(['get', 'ctl/leased']), '')
    assert.equal(await fails(['lease', 'revoke', id]), 'Error: failed to revoke lease (etcdserver: requested lease not found)')
  })

  /** `etcdctl watch ARGS` in the background: what it printed so far, and a way to stop it. */
  function watchProcess(args: readonly string[]): { output: () => string; stop: () => void } {
    const endpoint = new URL(cluster.gatewayUrl).host
    const watcher = killOnExit(spawn('etcdctl', [`--endpoints=${endpoint}`, 'watch', ...args], { env: { ...process.env, ETCDCTL_API: '3' } }))
    let out = ''
    watcher.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')))
    return { output: () => out, stop: () => void watcher.kill() }
  }

  test('watch: events of a prefix with prev_kv, then the same history from a revision', async () => {
    const live = watchProcess(['--prefix', 'ctl/w/', '--prev-kv'])
    let from = 0
    try {
      // etcdctl prints nothing when the watch opens: put until a put shows up.
      await eventually('the watch sees a put', async () => {
        from = JSON.parse(await ok(['put', 'ctl/w/x', '1', '-w', 'json'])).header.revision as number
        await sleep(200)
        assert.ok(live.output().includes('ctl/w/x'), live.output())
      })
      await ok(['put', 'ctl/w/x', '2'])
      await ok(['del', 'ctl/w/x'])
      await eventually('the delete arrives', () => assert.ok(live.output().includes('DELETE'), live.output()))
      assert.ok(live.output().endsWith('PUT\nctl/w/x\n1\nctl/w/x\n2\nDELETE\nctl/w/x\n2\nctl/w/x\n\n'), live.output())
    } finally {
      live.stop()
    }
    const history = watchProcess(['--rev', String(from), 'ctl/w/x'])
    try {
      const want = 'PUT\nctl/w/x\n1\nPUT\nctl/w/x\n2\nDELETE\nctl/w/x\n\n'
      await eventually('the history is replayed', () => assert.equal(history.output(), want))
    } finally {
      history.stop()
    }
  })

  test('cluster and maintenance: member list, endpoint status, hashkv, snapshot save', async () => {
    const members = (await ok(['member', 'list'])).trim().split('\n')
    assert.equal(members.length, 3)
    for (const m of members) assert.match(m, /^[0-9a-f]+, started, m\d, http:\/\/127\.0\.0\.1:\d+, http:\/\/127\.0\.0\.1:\d+, false$/)
    const status = JSON.parse(await ok(['endpoint', 'status', '-w', 'json']))
    assert.equal(status[0].Status.version, '3.4.23')
    assert.ok(status[0].Status.leader > 0)
    assert.match(await ok(['endpoint', 'hashkv']), /, \d+\n$/)
    // --cluster dials each member's client URL (http://…): the URL arrives as the HTTP/2 authority.
    const all = JSON.parse(await ok(['endpoint', 'status', '--cluster', '-w', 'json'])) as Array<{ Endpoint: string; Status: { leader: number; header: { member_id: number } } }>
    assert.equal(all.length, 3)
    assert.equal(all.filter((s) => s.Status.header.member_id === s.Status.leader).length, 1)
    assert.equal((await ok(['endpoint', 'hashkv', '--cluster'])).trim().split('\n').length, 3)
    assert.equal((await ok(['defrag', '--cluster'])).match(/Finished defragmenting etcd member\[http:/g)?.length, 3)
    const dir = mkdtempSync(join(tmpdir(), 'edgecd-etcdctl-'))
    try {
      assert.match(await ok(['snapshot', 'save', join(dir, 'snap.db')]), /Snapshot saved at/)
      assert.ok(statSync(join(dir, 'snap.db')).size > 0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test("every member's client port serves gRPC too: a write on each, read back on another", async () => {
    const names = cluster.memberNames
    for (const [i, name] of names.entries()) {
      const put = await etcdctl(['put', `ctl/m/${name}`, name], undefined, cluster.url(name))
      assert.equal(put.code, 0, put.err)
      const next = names[(i + 1) % names.length] as string
      const got = await etcdctl(['get', `ctl/m/${name}`, '--print-value-only'], undefined, cluster.url(next))
      assert.equal(got.out, `${name}\n`, got.err)
    }
  })

  test('lock runs a command while holding the lock', async () => {
    assert.equal(await ok(['lock', 'ctl-lock', 'echo', 'held']), 'held\n')
  })

  test("errors: etcd's gRPC codes and messages", async () => {
    assert.equal(await fails(['put', '', 'x']), 'Error: etcdserver: key is not provided')
    assert.equal(await fails(['get', 'ctl/a', '--rev', '100000']), 'Error: etcdserver: mvcc: required revision is a future revision')
    const rev = JSON.parse(await ok(['put', 'ctl/c', 'x', '-w', 'json'])).header.revision as number
    await ok(['compact', String(rev)])
    assert.equal(await fails(['get', 'ctl/a', '--rev', String(rev - 1)]), 'Error: etcdserver: mvcc: required revision has been compacted')
  })

  test('auth: users and roles, the token in gRPC metadata', async () => {
    await ok(['user', 'add', 'root:rootpw'])
    await ok(['role', 'add', 'reader'])
    await ok(['role', 'grant-permission', 'reader', 'read', 'pub/', '--prefix=true'])
    await ok(['user', 'add', 'bob:bobpw'])
    await ok(['user', 'grant-role', 'bob', 'reader'])
    await ok(['auth', 'enable'])
    try {
      assert.equal(await fails(['get', 'pub/a']), 'Error: etcdserver: user name is empty')
      await ok(['--user', 'root:rootpw', 'put', 'pub/a', '1'])
      assert.equal(await ok(['--user', 'bob:bobpw', 'get', 'pub/a', '--print-value-only']), '1\n')
      assert.equal(await fails(['--user', 'bob:bobpw', 'put', 'pub/a', '2']), 'Error: etcdserver: permission denied')
      assert.equal(await fails(['--user', 'bob:wrong', 'get', 'pub/a']), 'Error: etcdserver: authentication failed, invalid user ID or password')
    } finally {
      await ok(['--user', 'root:rootpw', 'auth', 'disable'])
    }
  })
})
