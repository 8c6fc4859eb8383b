/**
 * The `edgecd` command (bin/edgecd.js, a child process per call) against a real 3-member cluster
 * with a gateway, started with src/cli/up.ts on free ports in a temp dir: put/get/del, txn from
 * stdin, watch, leases, member list, endpoint status and health, lock, and a snapshot saved,
 * restored into three new data dirs, and served by a new cluster started on them.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_UP_OPTIONS, up, waitForLeader, type RunningCluster } from '../../src/cli/up.ts'
import { freeConsecutivePorts } from '../free-ports.ts'

const BIN = resolve(fileURLToPath(new URL('../../bin/edgecd.js', import.meta.url)))

interface Result {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Starts a cluster of 3 members (ports base+1…base+3) and a gateway (port base). */
async function startCluster(dataDir: string, token: string, logs: string[]): Promise<RunningCluster> {
  const base = await freeConsecutivePorts(4)
  const cluster = await up({
    ...DEFAULT_UP_OPTIONS,
    gatewayPort: base,
    memberBasePort: base + 1,
    dataDir,
    clusterToken: token,
    log: (line) => logs.push(line),
  })
  await waitForLeader(cluster.gatewayUrl, 30_000)
  return cluster
}

function start(args: readonly string[], endpoints: string): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, EDGECD_ENDPOINTS: endpoints },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
}

function edgecd(endpoints: string, args: readonly string[], input = ''): Promise<Result> {
  const child = start(args, endpoints)
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (b: Buffer) => (stdout += b.toString('utf8')))
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString('utf8')))
  child.stdin?.end(input)
  return new Promise((res) => child.once('close', (code) => res({ code, stdout, stderr })))
}

describe('edgecd against a running cluster', { timeout: 120_000 }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'edgecd-cli-'))
  const logs: string[] = []
  const clusters: RunningCluster[] = []
  let gateway = ''
  const cli = (args: readonly string[], input?: string): Promise<Result> => edgecd(gateway, args, input)
  const ok = async (args: readonly string[], input?: string): Promise<string> => {
    const r = await cli(args, input)
    assert.equal(r.code, 0, `edgecd ${args.join(' ')} failed: ${r.stderr}`)
    return r.stdout
  }

  before(async () => {
    const cluster = await startCluster(join(tmp, 'data'), 'cli-test', logs)
    clusters.push(cluster)
    gateway = cluster.gatewayUrl
  })

  after(async () => {
    await Promise.all(clusters.map((c) => c.stop()))
    rmSync(tmp, { recursive: true, force: true })
  })

  test('put (argument and stdin), get, get -w json, del', async () => {
    assert.deepEqual(await Promise.all([ok(['put', 'foo', 'bar']), ok(['put', 'fromstdin'], 'piped\n')]), ['OK\n', 'OK\n'])
    assert.equal(await ok(['get', 'foo']), 'foo\nbar\n')
    assert.equal(await ok(['get', 'fromstdin', '--print-value-only']), 'piped\n\n')
    const json = JSON.parse(await ok(['get', 'f', '--prefix', '-w', 'json'])) as {
      header: { revision: string }
      kvs: Array<{ key: string; value: string }>
      count: string
    }
    assert.equal(json.count, '2')
    assert.equal(typeof json.header.revision, 'string')
    assert.deepEqual(json.kvs.map((k) => Buffer.from(k.key, 'base64').toString()), ['foo', 'fromstdin'])
    assert.equal(Buffer.from(json.kvs[0]?.value ?? '', 'base64').toString(), 'bar')
    assert.equal(await ok(['del', 'foo']), '1\n')
    assert.equal(await ok(['get', 'foo']), '')
    const bad = await cli(['get', 'foo', '-w', 'table'])
    assert.deepEqual([bad.code, bad.stderr], [4, 'Error: table not supported as output format\n'])
  })

  test('txn from stdin, in etcdctl syntax', async () => {
    const script = 'version("t1") = "0"\n\nput t1 "one"\n\nget t1\n\n'
    assert.equal(await ok(['txn'], script), 'SUCCESS\n\nOK\n')
    assert.equal(await ok(['txn'], script), 'FAILURE\n\nt1\none\n')
    const bad = await cli(['txn'], 'bogus("t1") = "0"\n\n')
    assert.deepEqual([bad.code, bad.stderr], [3, 'Error: malformed comparison: bogus("t1") = "0" (unknown target bogus)\n'])
  })

  test('watch --prefix --prev-kv from a revision', async () => {
    const { header } = JSON.parse(await ok(['get', 'w', '-w', 'json'])) as { header: { revision: string } }
    const watch = start(['watch', 'w', '--prefix', '--prev-kv', '--rev', String(Number(header.revision) + 1)], gateway)
    let seen = ''
    watch.stdout?.on('data', (b: Buffer) => (seen += b.toString('utf8')))
    const expected = 'PUT\nw/a\n1\nPUT\nw/a\n1\nw/a\n2\nDELETE\nw/a\n2\nw/a\n\n'
    try {
      await ok(['put', 'w/a', '1'])
      await ok(['put', 'w/a', '2'])
      await ok(['del', 'w/a'])
      const deadline = Date.now() + 20_000
      while (seen.length < expected.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
      assert.equal(seen, expected)
    } finally {
      watch.kill()
    }
  })

  test('lease grant, put --lease, timetolive --keys, list, revoke', async () => {
    const granted = /^lease ([0-9a-f]{16}) granted with TTL\(60s\)\n$/.exec(await ok(['lease', 'grant', '60']))
    assert.ok(granted !== null)
    const id = granted[1] as string
    await ok(['put', 'leased', 'v', `--lease=${id}`])
    assert.match(await ok(['lease', 'timetolive', id, '--keys']), new RegExp(`^lease ${id} granted with TTL\\(60s\\), remaining\\(\\d+s\\), attached keys\\(\\[leased\\]\\)\n$`))
    assert.match(await ok(['lease', 'list']), new RegExp(`^found \\d+ leases\n(.*\n)*${id}\n`))
    assert.equal(await ok(['lease', 'revoke', id]), `lease ${id} revoked\n`)
    assert.equal(await ok(['get', 'leased']), '')
    assert.equal(await ok(['lease', 'timetolive', id]), `lease ${id} already expired\n`)
  })

  test('member list, endpoint status and health', async () => {
    const [members, table, health] = await Promise.all([
      ok(['member', 'list']),
      ok(['endpoint', 'status', '--cluster', '-w', 'table']),
      cli(['endpoint', 'health', '--cluster']),
    ])
    const rows = members.trim().split('\n')
    assert.equal(rows.length, 3)
    for (const row of rows) assert.match(row, /^[0-9a-f]+, started, m[123], http:\/\/127\.0\.0\.1:\d+, http:\/\/127\.0\.0\.1:\d+, false$/)
    const lines = table.trim().split('\n')
    assert.equal(lines.length, 7)
    assert.match(lines[1] as string, /^\| +ENDPOINT +\| +ID +\| VERSION \| DB SIZE \| IS LEADER \| IS LEARNER \| RAFT TERM \| RAFT INDEX \| RAFT APPLIED INDEX \| ERRORS \|$/)
    const cells = lines.slice(3, 6).map((l) => l.split('|').map((c) => c.trim()))
    assert.equal(cells.filter((c) => c[5] === 'true').length, 1)
    assert.equal(health.code, 0)
    assert.equal(health.stderr.match(/is healthy: successfully committed proposal: took = /g)?.length, 3)
  })

  test('lock runs a command while holding the lock', async () => {
    const out = await ok(['lock', 'jobs', '--', 'sh', '-c', 'echo "$ETCD_LOCK_KEY $ETCD_LOCK_REV"'])
    assert.match(out, /^jobs\/[0-9a-f]+ \d+\n$/)
  })

  test('a snapshot download is the database as of the request, though writes go on while it is read', async () => {
    const put = async (key: string, value: string): Promise<string> => {
      const body = JSON.stringify({ key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') })
      const r = await fetch(`${gateway}/v3/kv/put`, { method: 'POST', body })
      assert.equal(r.status, 200)
      return ((await r.json()) as { header: { revision: string } }).header.revision
    }
    let revision = ''
    for (let i = 0; i < 160; i++) revision = await put(`dl/k${i}`, `a${i}`.padEnd(64 * 1024, 'a'))
    const r = await fetch(`${gateway}/v3/maintenance/snapshot`, { method: 'POST', body: '{}' })
    assert.equal(r.status, 200)
    const reader = (r.body as ReadableStream<Uint8Array>).getReader()
    const parts: Uint8Array[] = []
    const first = await reader.read()
    assert.ok(!first.done)
    parts.push(first.value)
    // Every key rewritten, and as many added, while the rest of the download waits.
    for (let i = 0; i < 160; i++) await put(`dl/k${i}`, `b${i}`.padEnd(64 * 1024, 'b'))
    for (let i = 0; i < 40; i++) await put(`dl/new${i}`, 'c'.repeat(64 * 1024))
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) parts.push(chunk.value)
    const messages = Buffer.concat(parts).toString('utf8').trim().split('\n').map((line) => JSON.parse(line) as { result: { blob: string } })
    const blobs = messages.map((m) => Buffer.from(m.result.blob, 'base64'))
    const image = Buffer.concat(blobs.slice(0, -1))
    assert.deepEqual(blobs[blobs.length - 1], createHash('sha256').update(image).digest(), 'it ends with the SHA-256 of what came before')
    const file = join(tmp, 'download.db')
    writeFileSync(file, image)
    const status = JSON.parse(await ok(['snapshot', 'status', file, '-w', 'json'])) as { revision: number; totalKey: number }
    assert.equal(status.revision, Number(revision), 'the revision when it was asked for')
  })

  test('snapshot save, status, restore into 3 dirs, and a new cluster serves the data', async () => {
    await ok(['put', 'snap/k', 'kept'])
    const file = join(tmp, 'snap.db')
    assert.equal(await ok(['snapshot', 'save', file]), `Snapshot saved at ${file}\n`)
    const { header } = JSON.parse(await ok(['get', 'snap/k', '-w', 'json'])) as { header: { revision: string } }
    const status = JSON.parse(await ok(['snapshot', 'status', file, '-w', 'json'])) as { revision: number; totalKey: number }
    assert.equal(status.revision, Number(header.revision))
    assert.ok(status.totalKey > 0)

    const base = await freeConsecutivePorts(4)
    const restored = join(tmp, 'restored')
    const members = [1, 2, 3].map((i) => ({ name: `m${i}`, url: `http://127.0.0.1:${base + i}` }))
    const initialCluster = members.map((m) => `${m.name}=${m.url}`).join(',')
    const results = await Promise.all(
      members.map((m) =>
        cli([
          'snapshot', 'restore', file, '--name', m.name, '--data-dir', join(restored, m.name), '--initial-cluster', initialCluster,
          '--initial-cluster-token', 'cli-restored', '--initial-advertise-peer-urls', m.url,
        ]),
      ),
    )
    for (const r of results) assert.equal(r.code, 0, r.stderr)
    const again = await cli(['snapshot', 'restore', file, '--data-dir', join(restored, 'm1'), '--skip-hash-check'])
    assert.match(again.stderr, /^Error: data-dir ".*m1" exists\n$/)

    const cluster = await up({
      ...DEFAULT_UP_OPTIONS,
      gatewayPort: base,
      // (The restored cluster's gateway runs as two processes: `up --gateway-processes`.)
      gatewayProcesses: 2,
      memberBasePort: base + 1,
      dataDir: restored,
      clusterToken: 'cli-restored',
      log: (line) => logs.push(line),
    })
    clusters.push(cluster)
    await waitForLeader(cluster.gatewayUrl, 30_000)
    const [kept, txn, list] = await Promise.all([
      edgecd(cluster.gatewayUrl, ['get', 'snap/k']),
      edgecd(cluster.gatewayUrl, ['get', 't1', '--print-value-only']),
      edgecd(cluster.gatewayUrl, ['member', 'list']),
    ])
    assert.equal(kept.stdout, 'snap/k\nkept\n')
    assert.equal(txn.stdout, 'one\n')
    assert.equal(list.stdout.trim().split('\n').length, 3)
    assert.equal((await edgecd(cluster.gatewayUrl, ['put', 'after', 'restore'])).stdout, 'OK\n')
    assert.ok(logs.some((l) => /gateway listening on .*, 2 processes$/.test(l)), 'the gateway says it runs 2 processes')
  })
})
