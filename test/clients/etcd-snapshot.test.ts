/**
 * Snapshots in etcd's format, both ways between edgecd and a real etcd 3.4 (Debian's etcd-server
 * and etcd-client, which `.ci/run` installs), on free loopback ports in a temp dir:
 *
 * - edgecd → etcd: a history written on an edgecd member (overwrites, a delete, a leased key, a
 *   value spanning bbolt overflow pages, a few hundred keys so the key bucket has branch pages, a
 *   compaction, a role and users) is saved with `etcdctl snapshot save`; `etcdctl snapshot status`
 *   and `edgecd snapshot status` agree on it; `etcdctl snapshot restore` of it gives a data dir
 *   etcd starts on, answering the same keys, history, leases, roles, users and compaction.
 * - etcd → edgecd: the same kind of history on etcd, with auth enabled, saved by etcdctl, restored
 *   with `edgecd snapshot restore`, and served by an edgecd member with the same answers, auth
 *   still on and etcd's (bcrypt) passwords accepted.
 * - A snapshot without its hash, or with a flipped byte: both restores refuse it, the same way.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { post } from '../e2e/cluster-harness.ts'
import { freePort } from '../free-ports.ts'
import { killOnExit } from '../kill-on-exit.ts'

const ROOT = resolve(import.meta.dirname, '../..')

interface Run {
  readonly code: number | null
  readonly out: string
  readonly err: string
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((res) => {
    const child = execFile(command, args, { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        res({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, out: stdout, err: stderr })
      })
    killOnExit(child)
  })
}

/** `etcdctl` (API 3) against `127.0.0.1:port` (or no endpoint, for the offline snapshot commands). */
function etcdctl(port: number | null, args: readonly string[]): Promise<Run> {
  const endpoint = port === null ? [] : [`--endpoints=127.0.0.1:${port}`, '--command-timeout=10s']
  return run('etcdctl', [...endpoint, ...args], { ETCDCTL_API: '3' })
}

/** The `edgecd` command (src/cli/main.ts). */
function edgecd(args: readonly string[]): Promise<Run> {
  return run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args])
}

function describeRun(what: string, args: readonly string[], r: Run): string {
  return `${what} ${args.join(' ')} (exit ${r.code}):\n${r.out.slice(0, 2000)}${r.err.slice(-2000)}`
}

/** The last "Error: …" line of a command that must fail. */
function errorLine(what: string, args: readonly string[], r: Run): string {
  assert.notEqual(r.code, 0, describeRun(`${what} succeeded:`, args, r))
  return r.err.split('\n').filter((l) => l.startsWith('Error:')).pop() ?? r.err
}

/**
 * JSON with every integer of 16 digits or more (IDs: etcd's lease IDs exceed 2^53) read as a
 * string, so that two answers compare exactly.
 */
function parseJson(text: string): any {
  return JSON.parse(text.replace(/([:[,])\s*(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"'))
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64')

/** One etcd or edgecd server this file started. */
interface Server {
  readonly name: string
  readonly child: ChildProcess
  readonly port: number
  readonly url: string
  /** Its stderr so far (for the messages of a failed check). */
  readonly log: () => string
}

const started: Server[] = []

function launch(name: string, command: string, args: readonly string[], port: number, env: NodeJS.ProcessEnv = {}): Server {
  // An edgecd member with EDGECD_EXIT_WITH_PARENT=1 also stops when its stdin (this process) ends.
  const child = killOnExit(spawn(command, args, { cwd: ROOT, stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, ...env } }))
  let log = ''
  child.stderr?.on('data', (b: Buffer) => (log = (log + b.toString('utf8')).slice(-20_000)))
  const server = { name, child, port, url: `http://127.0.0.1:${port}`, log: () => log }
  started.push(server)
  return server
}

/** A single-member etcd named `a` (a restored data dir must have been restored with `peerPort` as its peer URL). */
function startEtcd(name: string, dataDir: string, port: number, peerPort: number): Server {
  const url = `http://127.0.0.1:${port}`
  const peer = `http://127.0.0.1:${peerPort}`
  return launch(name, 'etcd', [
    '--name', 'a', '--data-dir', dataDir, '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `a=${peer}`,
    '--log-level', 'error',
  ], port)
}

/** A single edgecd member (its peer URL is its client URL). */
function startEdgecd(name: string, dataDir: string, port: number): Server {
  const url = `http://127.0.0.1:${port}`
  return launch(name, process.execPath, [
    '--import', 'tsx', 'workers/member.ts', '--name', 's1', '--data-dir', dataDir, '--listen-client-urls', url,
    '--initial-cluster', `s1=${url}`, '--initial-advertise-peer-urls', url, '--log-level', 'error',
  ], port, { EDGECD_EXIT_WITH_PARENT: '1' })
}

async function ready(server: Server, user?: { name: string; password: string }): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null || server.child.signalCode !== null)
      throw new Error(`${server.name} (pid ${server.child.pid}) exited (${server.child.exitCode ?? server.child.signalCode}):\n${server.log()}`)
    try {
      const headers: Record<string, string> = {}
      if (user !== undefined) {
        const auth = await post(server.url, '/v3/auth/authenticate', user)
        if (typeof auth.json?.token === 'string') headers.Authorization = auth.json.token
      }
      if ((await post(server.url, '/v3/kv/range', { key: 'AA==' }, { headers })).status === 200) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${server.name} did not answer within 30 s:\n${server.log()}`)
}

/** Stops a server this file started (SIGTERM, then SIGKILL after 10 s) and waits for its exit. */
async function stop(server: Server): Promise<void> {
  const { child } = server
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((res) => child.once('exit', () => res()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

/** `snapshot status -w json` of `file` as etcdctl and as edgecd print it, each checked to succeed. */
async function bothStatuses(file: string): Promise<[any, any]> {
  const [theirs, ours] = await Promise.all([
    etcdctl(null, ['snapshot', 'status', file, '-w', 'json']),
    edgecd(['snapshot', 'status', file, '-w', 'json']),
  ])
  assert.equal(theirs.code, 0, describeRun('etcdctl', ['snapshot', 'status'], theirs))
  assert.equal(ours.code, 0, describeRun('edgecd', ['snapshot', 'status'], ours))
  return [JSON.parse(theirs.out), JSON.parse(ours.out)]
}

/** Puts `count` keys `k/NNN` through the JSON API (one revision each). */
async function putMany(server: Server, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) {
    const key = `k/${String(i).padStart(3, '0')}`
    const r = await post(server.url, '/v3/kv/put', { key: b64(key), value: b64(`value of ${key}: ${'abcdefghij'.repeat(3)}`) })
    assert.equal(r.status, 200, `put ${key}: ${JSON.stringify(r.json)}`)
  }
}

/**
 * The shape of a snapshot's bbolt database, read here independently of src/storage: whether the
 * `key` bucket's root is a branch page, and whether some leaf page spans overflow pages.
 */
function boltShape(file: string): { keyRootIsBranch: boolean; overflowLeaf: boolean } {
  const db = readFileSync(file).subarray(0, -32)
  const view = new DataView(db.buffer, db.byteOffset, db.byteLength)
  const u64 = (at: number): number => Number(view.getBigUint64(at, true))
  assert.equal(view.getUint32(16, true), 0xed0cdaed, 'a bbolt meta page')
  const pageSize = view.getUint32(24, true)
  // The meta page with the higher txid (meta: magic, version, pageSize, flags, root, sequence, freelist, pgid, txid).
  const meta = [0, pageSize].sort((a, b) => u64(b + 16 + 48) - u64(a + 16 + 48))[0] as number
  const pageFlags = (id: number): number => view.getUint16(id * pageSize + 8, true)
  const top = u64(meta + 16 + 16)
  assert.equal(pageFlags(top), 0x02, 'the top-level tree is one leaf page')
  let keyRoot = -1
  for (let i = 0; i < view.getUint16(top * pageSize + 10, true); i++) {
    const el = top * pageSize + 16 + i * 16
    const [pos, ksize] = [view.getUint32(el + 4, true), view.getUint32(el + 8, true)]
    if (db.subarray(el + pos, el + pos + ksize).toString() === 'key') keyRoot = u64(el + pos + ksize)
  }
  assert.ok(keyRoot > 0, 'the key bucket has a page of its own')
  let overflowLeaf = false
  for (let id = 2; (id + 1) * pageSize <= db.length;) {
    const overflow = view.getUint32(id * pageSize + 12, true)
    if (pageFlags(id) === 0x02 && overflow > 0) overflowLeaf = true
    id += 1 + overflow
  }
  return { keyRootIsBranch: pageFlags(keyRoot) === 0x01, overflowLeaf }
}

/** etcd's "expected sha256 [188 78 …], got [35 111 …]" (Go byte slices) as hex. */
function goSha256Pair(line: string): [string, string] | null {
  const m = /expected sha256 \[([\d ]+)\], got \[([\d ]+)\]/.exec(line)
  if (m === null) return null
  const hex = (s: string): string => Buffer.from(s.trim().split(/\s+/).map(Number)).toString('hex')
  return [hex(m[1] as string), hex(m[2] as string)]
}

const BIG = 'z'.repeat(6000)

describe("snapshots in etcd's format between edgecd and etcd 3.4", { timeout: 180_000 }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'edgecd-etcd-snapshot-'))
  /** The snapshot etcdctl saved from the edgecd member (case 1), corrupted in case 3. */
  const edgecdSnapshot = join(tmp, 'from-edgecd.db')

  after(async () => {
    await Promise.all(started.map(stop))
    rmSync(tmp, { recursive: true, force: true })
  })

  test('etcd and etcdctl are installed (etcd-server, etcd-client)', async () => {
    const ctl = await etcdctl(null, ['version'])
    assert.equal(ctl.code, 0, `etcdctl is missing: apt-get install etcd-client\n${ctl.err}`)
    const server = await run('etcd', ['--version'])
    assert.equal(server.code, 0, `etcd is missing: apt-get install etcd-server\n${server.err}`)
    assert.match(server.out, /etcd Version: 3\.4\./)
  })

  const on = async (server: Server, args: readonly string[]): Promise<string> => {
    const r = await etcdctl(server.port, args)
    assert.equal(r.code, 0, describeRun(`etcdctl on ${server.name}`, args, r))
    return r.out
  }
  const json = async (server: Server, args: readonly string[]): Promise<any> => parseJson(await on(server, [...args, '-w', 'json']))
  const failure = async (server: Server, args: readonly string[]): Promise<string> =>
    errorLine(`etcdctl on ${server.name}`, args, await etcdctl(server.port, args))

  describe('edgecd → etcd: etcdctl saves an edgecd snapshot, etcd starts on its restore', () => {
    let member: Server
    let restored: Server
    /** The member's revision when saved, the compaction's, and the revision where `a` was 3. */
    let revision = 0
    let compacted = 0
    let aWas3 = 0
    let lease = ''

    before(async () => {
      member = startEdgecd('edgecd member', join(tmp, 'edgecd-1'), await freePort())
      await ready(member)
    })

    test('a history written on the edgecd member with etcdctl, saved with etcdctl', async () => {
      await on(member, ['put', 'a', '1'])
      await on(member, ['put', 'a', '2'])
      await on(member, ['put', 'b', 'x'])
      assert.equal(await on(member, ['del', 'b']), '1\n')
      lease = /^lease ([0-9a-f]{16}) granted with TTL\(600s\)/.exec(await on(member, ['lease', 'grant', '600']))?.[1] ?? ''
      assert.notEqual(lease, '')
      await on(member, ['put', '--lease', lease, 'leased', 'under a lease'])
      await on(member, ['put', 'big', BIG])
      aWas3 = (await json(member, ['put', 'a', '3'])).header.revision
      await putMany(member, 300)
      await on(member, ['put', 'a', '4'])
      await on(member, ['del', 'k/001'])
      compacted = (await json(member, ['get', 'k/150'])).kvs[0].mod_revision
      assert.ok(compacted > aWas3)
      assert.equal(await on(member, ['compact', String(compacted)]), `compacted revision ${compacted}\n`)
      await on(member, ['role', 'add', 'root'])
      await on(member, ['user', 'add', 'root:rootpw'])
      await on(member, ['user', 'grant-role', 'root', 'root'])
      await on(member, ['role', 'add', 'r1'])
      await on(member, ['role', 'grant-permission', 'r1', 'readwrite', 'p/', '--prefix=true'])
      await on(member, ['role', 'add', 'r2'])
      await on(member, ['role', 'grant-permission', 'r2', 'read', 'cfg'])
      await on(member, ['user', 'add', 'u1:pw1'])
      await on(member, ['user', 'grant-role', 'u1', 'r1'])
      await on(member, ['user', 'grant-role', 'u1', 'r2'])
      revision = (await json(member, ['endpoint', 'status']))[0].Status.header.revision
      assert.equal(revision, compacted + 152)
      assert.match(await on(member, ['snapshot', 'save', edgecdSnapshot]), /Snapshot saved at /)
    })

    test('the snapshot is a bbolt file whose key bucket has branch pages, and overflow pages', () => {
      assert.deepEqual(boltShape(edgecdSnapshot), { keyRootIsBranch: true, overflowLeaf: true })
    })

    test('etcdctl snapshot status and edgecd snapshot status print the same', async () => {
      const [status, ours] = await bothStatuses(edgecdSnapshot)
      assert.deepEqual(ours, status)
      assert.equal(status.revision, revision)
    })

    test('etcdctl restores it and etcd starts on it', async () => {
      const [port, peerPort] = [await freePort(), await freePort()]
      const dataDir = join(tmp, 'etcd-restored')
      const args = ['snapshot', 'restore', edgecdSnapshot, '--name', 'a', '--data-dir', dataDir,
        '--initial-cluster', `a=http://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`]
      const r = await etcdctl(null, args)
      assert.equal(r.code, 0, describeRun('etcdctl', args, r))
      restored = startEtcd('etcd on the restored dir', dataDir, port, peerPort)
      await ready(restored)
    })

    test('every key, with its revisions and version, and the history since the compaction', async () => {
      const all = ['get', '--prefix', '']
      const want = await json(member, all)
      const got = await json(restored, all)
      assert.equal(got.header.revision, revision)
      assert.equal(got.count, 302)
      assert.deepEqual(got.kvs, want.kvs)
      const a = got.kvs.find((kv: any) => kv.key === b64('a'))
      assert.deepEqual([a.version, a.value], [4, b64('4')])
      assert.equal(got.kvs.find((kv: any) => kv.key === b64('big')).value, b64(BIG))
      for (const rev of [compacted, compacted + 1, revision - 1]) {
        const at = [...all, '--rev', String(rev)]
        assert.deepEqual((await json(restored, at)).kvs, (await json(member, at)).kvs, `at revision ${rev}`)
      }
      const below = ['get', 'a', '--rev', String(compacted - 1)]
      assert.equal(await failure(restored, below), 'Error: etcdserver: mvcc: required revision has been compacted')
      assert.equal(await failure(restored, below), await failure(member, below))
    })

    test('the lease, with its key', async () => {
      assert.equal(String((await json(restored, ['get', 'leased'])).kvs[0].lease), BigInt(`0x${lease}`).toString())
      assert.match(await on(restored, ['lease', 'list']), new RegExp(`^${lease}$`, 'm'))
      const ttl = await json(restored, ['lease', 'timetolive', '--keys', lease])
      assert.deepEqual([ttl['granted-ttl'], ttl.keys], [600, [b64('leased')]])
      assert.ok(ttl.ttl > 0 && ttl.ttl <= 600, String(ttl.ttl))
    })

    test('roles and users', async () => {
      for (const args of [['role', 'list'], ['user', 'list'], ['role', 'get', 'r1'], ['role', 'get', 'r2'], ['role', 'get', 'root'], ['user', 'get', 'u1'], ['user', 'get', 'root']])
        assert.equal(await on(restored, args), await on(member, args), args.join(' '))
      assert.deepEqual((await json(restored, ['role', 'get', 'r1'])).perm, [{ permType: 2, key: b64('p/'), range_end: b64('p0') }])
      assert.deepEqual((await json(restored, ['user', 'get', 'u1'])).roles, ['r1', 'r2'])
    })

    test('a new write gets the next revision', async () => {
      assert.equal((await json(restored, ['put', 'after', 'restore'])).header.revision, revision + 1)
    })

    test('passwords set on edgecd let their users in on etcd', async () => {
      assert.equal(await on(restored, ['auth', 'enable']), 'Authentication Enabled\n')
      try {
        assert.equal(await on(restored, ['--user', 'u1:pw1', 'put', 'p/x', '1']), 'OK\n')
      } finally {
        await etcdctl(restored.port, ['--user', 'root:rootpw', 'auth', 'disable'])
      }
    })
  })

  describe('etcd → edgecd: edgecd restores an etcd snapshot, an edgecd member serves it', () => {
    let etcd: Server
    let member: Server
    const root = ['--user', 'root:rootpw']
    const snapshot = join(tmp, 'from-etcd.db')
    let revision = 0
    let compacted = 0
    let lease = ''
    /** What etcd answered before the snapshot, to compare edgecd's answers with. */
    const etcdSaid = new Map<string, string>()
    const asked = [
      ['get', '--prefix', '', '-w', 'json'],
      ['get', '--prefix', '', '--rev', 'COMPACTED', '-w', 'json'],
      ['lease', 'list'],
      ['lease', 'timetolive', '--keys', 'LEASE', '-w', 'json'],
      ['role', 'list'], ['user', 'list'], ['role', 'get', 'r1'], ['role', 'get', 'root'], ['user', 'get', 'u1'], ['user', 'get', 'root'],
    ]
    const failing = [
      ['get', 'a'],
      ['--user', 'u1:wrong', 'get', 'p/x'],
      ['--user', 'u1:pw1', 'put', 'a', '5'],
      [...root, 'get', 'a', '--rev', 'BELOW'],
    ]
    const fill = (args: readonly string[]): string[] =>
      args.map((a) => a.replace('COMPACTED', String(compacted)).replace('BELOW', String(compacted - 1)).replace('LEASE', lease))
    /** An answer without its header (cluster and member IDs differ), revision kept. */
    const answer = (args: readonly string[], out: string): string => {
      if (!args.includes('json')) return out
      // A lease's remaining TTL is left out: it runs down meanwhile.
      const { header, cluster_id: _c, member_id: _m, raft_term: _t, ttl: _ttl, ...rest } = parseJson(out)
      return JSON.stringify({ ...rest, revision: header?.revision ?? parseJson(out).revision })
    }

    before(async () => {
      etcd = startEtcd('etcd', join(tmp, 'etcd-2'), await freePort(), await freePort())
      await ready(etcd)
    })

    test('a history with auth written on etcd, saved with etcdctl', async () => {
      await on(etcd, ['put', 'a', '1'])
      await on(etcd, ['put', 'a', '2'])
      await on(etcd, ['put', 'b', 'x'])
      await on(etcd, ['del', 'b'])
      lease = /^lease ([0-9a-f]{16}) granted with TTL\(600s\)/.exec(await on(etcd, ['lease', 'grant', '600']))?.[1] ?? ''
      assert.notEqual(lease, '')
      await on(etcd, ['put', '--lease', lease, 'leased', 'under a lease'])
      await on(etcd, ['put', 'big', BIG])
      await putMany(etcd, 300)
      await on(etcd, ['put', 'a', '3'])
      await on(etcd, ['del', 'k/001'])
      compacted = (await json(etcd, ['get', 'k/150'])).kvs[0].mod_revision
      await on(etcd, ['compact', String(compacted)])
      await on(etcd, ['user', 'add', 'root:rootpw'])
      await on(etcd, ['role', 'add', 'root'])
      await on(etcd, ['user', 'grant-role', 'root', 'root'])
      await on(etcd, ['role', 'add', 'r1'])
      await on(etcd, ['role', 'grant-permission', 'r1', 'readwrite', 'p/', '--prefix=true'])
      await on(etcd, ['user', 'add', 'u1:pw1'])
      await on(etcd, ['user', 'grant-role', 'u1', 'r1'])
      assert.equal(await on(etcd, ['auth', 'enable']), 'Authentication Enabled\n')
      revision = (await json(etcd, [...root, 'endpoint', 'status']))[0].Status.header.revision
      for (const args of asked.map(fill)) etcdSaid.set(args.join(' '), answer(args, await on(etcd, [...root, ...args])))
      for (const args of failing.map(fill)) etcdSaid.set(args.join(' '), await failure(etcd, args))
      assert.match(await on(etcd, [...root, 'snapshot', 'save', snapshot]), /Snapshot saved at /)
      await stop(etcd)
    })

    test('edgecd snapshot status prints what etcdctl does', async () => {
      const [theirs, ours] = await bothStatuses(snapshot)
      assert.deepEqual(ours, theirs)
      assert.equal(ours.revision, revision)
    })

    test('edgecd snapshot restore, and a member started on the restored dir', async () => {
      const port = await freePort()
      const url = `http://127.0.0.1:${port}`
      const dataDir = join(tmp, 'edgecd-restored')
      const args = ['snapshot', 'restore', snapshot, '--name', 's1', '--data-dir', dataDir,
        '--initial-cluster', `s1=${url}`, '--initial-advertise-peer-urls', url]
      const r = await edgecd(args)
      assert.equal(r.code, 0, describeRun('edgecd', args, r))
      member = startEdgecd('edgecd member on the restored dir', dataDir, port)
      await ready(member, { name: 'root', password: 'rootpw' })
    })

    test('the same keys, history, compaction, leases, roles and users as etcd answered', async () => {
      for (const args of asked.map(fill))
        assert.equal(answer(args, await on(member, [...root, ...args])), etcdSaid.get(args.join(' ')), args.join(' '))
      const all = parseJson(etcdSaid.get('get --prefix  -w json') as string)
      assert.equal(all.count, 302)
      assert.equal(all.revision, revision)
      assert.match(etcdSaid.get('lease list') as string, new RegExp(`^${lease}$`, 'm'))
    })

    test("auth is on, with etcd's users and passwords and its errors", async () => {
      for (const args of failing.map(fill)) assert.equal(await failure(member, args), etcdSaid.get(args.join(' ')), args.join(' '))
      assert.equal(etcdSaid.get('get a'), 'Error: etcdserver: user name is empty')
      assert.equal(etcdSaid.get('--user u1:wrong get p/x'), 'Error: etcdserver: authentication failed, invalid user ID or password')
      assert.equal((await json(member, ['--user', 'u1:pw1', 'put', 'p/x', 'by u1'])).header.revision, revision + 1)
      assert.equal(await on(member, ['--user', 'u1:pw1', 'get', 'p/x', '--print-value-only']), 'by u1\n')
      assert.equal(await on(member, [...root, 'auth', 'disable']), 'Authentication Disabled\n')
      assert.equal(await on(member, ['get', 'a', '--print-value-only']), '3\n')
    })
  })

  describe('a snapshot without its hash, or with a flipped byte, is refused by both restores', () => {
    const restore = (tool: 'etcdctl' | 'edgecd', file: string, dir: string, extra: readonly string[] = []): Promise<Run> => {
      const peer = 'http://127.0.0.1:2380'
      const args = ['snapshot', 'restore', file, '--name', 'a', '--data-dir', join(tmp, dir),
        '--initial-cluster', `a=${peer}`, '--initial-advertise-peer-urls', peer, ...extra]
      return tool === 'etcdctl' ? etcdctl(null, args) : edgecd(args)
    }

    test('without its hash: "snapshot missing hash but --skip-hash-check=false"', async () => {
      const file = join(tmp, 'no-hash.db')
      writeFileSync(file, readFileSync(edgecdSnapshot).subarray(0, -32))
      const [theirs, ours] = await Promise.all([restore('etcdctl', file, 'no-hash-etcd'), restore('edgecd', file, 'no-hash-edgecd')])
      const etcdLine = errorLine('etcdctl', ['snapshot', 'restore', file], theirs)
      assert.equal(etcdLine, 'Error: snapshot missing hash but --skip-hash-check=false')
      assert.equal(errorLine('edgecd', ['snapshot', 'restore', file], ours), etcdLine)
      const skipped = await restore('edgecd', file, 'no-hash-skipped', ['--skip-hash-check'])
      assert.equal(skipped.code, 0, describeRun('edgecd', ['snapshot', 'restore', file, '--skip-hash-check'], skipped))
    })

    test('a flipped byte: the expected and the actual sha256', async () => {
      const bytes = readFileSync(edgecdSnapshot)
      bytes[bytes.length >> 1] ^= 0xff
      const file = join(tmp, 'flipped.db')
      writeFileSync(file, bytes)
      const expected = bytes.subarray(-32).toString('hex')
      const actual = createHash('sha256').update(bytes.subarray(0, -32)).digest('hex')
      const [theirs, ours] = await Promise.all([restore('etcdctl', file, 'flipped-etcd'), restore('edgecd', file, 'flipped-edgecd')])
      const etcdLine = errorLine('etcdctl', ['snapshot', 'restore', file], theirs)
      assert.deepEqual(goSha256Pair(etcdLine), [expected, actual], etcdLine)
      const edgecdLine = errorLine('edgecd', ['snapshot', 'restore', file], ours)
      assert.equal(edgecdLine, `Error: expected sha256 ${expected}, got ${actual}`)
    })
  })
})
