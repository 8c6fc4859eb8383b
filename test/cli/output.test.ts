/**
 * The printers against fixed answers: etcdctl's simple lines, the gateway's JSON (base64 bytes,
 * int64 as strings) and etcdctl's tables, plus the Go formats they are made of.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { StatusResponse } from '../../src/api/index.ts'
import type { Answer } from '../../src/client/index.ts'
import { CliError, ExitCode } from '../../src/cli/errors.ts'
import { goDuration, goQuote, humanizeBytes, idHex16, leaseHex } from '../../src/cli/format.ts'
import { Printer, type Format, type Output } from '../../src/cli/output.ts'
import type { KeyValue } from '../../src/mvcc/kv.ts'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const header = { clusterId: 14841639068965178418n, memberId: 10276657743932975437n, revision: 5, raftTerm: 2 }
const kv = (key: string, value: string, rev = 2): KeyValue => ({
  key: enc(key), createRevision: 2, modRevision: rev, version: 1, value: enc(value), lease: 0n,
})

function printer(format: Format, options = { hex: false, valueOnly: false }): { p: Printer; out: string[]; err: string[] } {
  const out: string[] = []
  const err: string[] = []
  const o: Output = {
    out: (line) => out.push(typeof line === 'string' ? line : new TextDecoder().decode(line)),
    err: (line) => err.push(line),
  }
  return { p: new Printer(format, o, options), out, err }
}

describe('simple format', () => {
  test('get: key then value per kv; --print-value-only, --hex, --count-only', () => {
    const res = { header, kvs: [kv('foo', 'bar'), kv('k', '')], more: false, count: 2 }
    const s = printer('simple')
    s.p.get(res)
    assert.deepEqual(s.out, ['foo', 'bar', 'k', ''])
    const v = printer('simple')
    v.p.with({ valueOnly: true }).get(res)
    assert.deepEqual(v.out, ['bar', ''])
    const h = printer('simple', { hex: true, valueOnly: false })
    h.p.get({ ...res, kvs: [kv('foo', 'b')] })
    assert.deepEqual(h.out, ['\\x66\\x6f\\x6f', '\\x62'])
    const c = printer('simple')
    c.p.get({ header, kvs: [], more: false, count: 7 }, { countOnly: true })
    assert.deepEqual(c.out, ['7'])
  })

  test('put, del and txn', () => {
    const s = printer('simple')
    s.p.put({ header, prevKv: kv('foo', 'old') })
    s.p.del({ header, deleted: 2, prevKvs: [] })
    s.p.txn({
      header,
      succeeded: false,
      responses: [
        { type: 'put', response: { header, prevKv: null } },
        { type: 'range', response: { header, kvs: [kv('a', '1')], more: false, count: 1 } },
      ],
    })
    assert.deepEqual(s.out, ['OK', 'foo', 'old', '2', 'FAILURE', '', 'OK', '', 'a', '1'])
  })

  test('watch: the event type, the previous kv, the kv', () => {
    const s = printer('simple')
    s.p.watch({
      header, watchId: 0, created: false, canceled: false, compactRevision: 0, cancelReason: '', fragment: false,
      events: [
        { type: 'PUT', kv: kv('w', '2', 3), prevKv: kv('w', '1') },
        { type: 'DELETE', kv: { ...kv('w', '', 4), createRevision: 0, version: 0 }, prevKv: null },
      ],
    })
    assert.deepEqual(s.out, ['PUT', 'w', '1', 'w', '2', 'DELETE', 'w', ''])
  })

  test('leases in %016x hex', () => {
    const s = printer('simple')
    s.p.grant({ header, id: 0x694d77aa9e4f4f0an, ttl: 10 })
    s.p.revoke(0x1fn, { header })
    s.p.keepAlive({ header, id: 0x1fn, ttl: 60 })
    s.p.timeToLive({ header, id: 0x1fn, ttl: 52, grantedTtl: 60, keys: [enc('a'), enc('b')] }, true)
    s.p.timeToLive({ header, id: 0x1fn, ttl: 52, grantedTtl: 60, keys: [] }, false)
    s.p.timeToLive({ header, id: 0x1fn, ttl: -1, grantedTtl: 0, keys: [] }, false)
    s.p.leases({ header, leases: [{ id: 1n }, { id: 0x20n }] })
    assert.deepEqual(s.out, [
      'lease 694d77aa9e4f4f0a granted with TTL(10s)',
      'lease 000000000000001f revoked',
      'lease 000000000000001f keepalived with TTL(60)',
      'lease 000000000000001f granted with TTL(60s), remaining(52s), attached keys([a b])',
      'lease 000000000000001f granted with TTL(60s), remaining(52s)',
      'lease 000000000000001f already expired',
      'found 2 leases',
      '0000000000000001',
      '0000000000000020',
    ])
  })

  test('members: rows, add with the variables for the new member, remove', () => {
    const members = [
      { id: 0x8e9e05c52164694dn, name: 'infra1', peerUrls: ['http://localhost:2380'], clientUrls: ['http://localhost:2379'], isLearner: false },
      { id: 0xa1n, name: '', peerUrls: ['http://localhost:2480'], clientUrls: [], isLearner: true },
    ]
    const s = printer('simple')
    s.p.memberList({ header, members })
    s.p.memberAdd({ header, member: members[1] ?? null, members }, 'infra2', 'http://localhost:2480')
    s.p.memberChange('removed from', 0xa1n, { header, members })
    assert.deepEqual(s.out, [
      '8e9e05c52164694d, started, infra1, http://localhost:2380, http://localhost:2379, false',
      'a1, unstarted, , http://localhost:2480, , true',
      'Member               a1 added to cluster cdf818194e3a8c32',
      '',
      'EDGECD_NAME="infra2"',
      'EDGECD_INITIAL_CLUSTER="infra1=http://localhost:2380,infra2=http://localhost:2480"',
      'EDGECD_INITIAL_ADVERTISE_PEER_URLS="http://localhost:2480"',
      'EDGECD_INITIAL_CLUSTER_STATE="existing"',
      'Member               a1 removed from cluster cdf818194e3a8c32',
    ])
  })

  test('endpoints: status rows, health on stderr, hashkv; alarms; snapshot status', () => {
    const s = printer('simple')
    s.p.endpointStatus([{ endpoint: '127.0.0.1:2379', status: status() }])
    s.p.endpointHealth([
      { endpoint: 'a:1', health: true, took: '2.1ms', error: '' },
      { endpoint: 'b:2', health: false, took: '5s', error: 'etcdserver: request timed out' },
    ])
    s.p.endpointHashKv([{ endpoint: 'a:1', hashKv: { header, hash: 12345, compactRevision: 0, hashRevision: 5 } }])
    s.p.alarm({ alarms: [{ memberId: 10276657743932975437n, alarm: 'NOSPACE' }] })
    s.p.dbStatus({ hash: 0xfe01cf57, revision: 10, totalKey: 7, totalSize: 2125824 })
    assert.deepEqual(s.out, [
      '127.0.0.1:2379, 8e9e05c52164694d, 3.4.0, 25 kB, true, false, 2, 8, 8, ',
      'a:1, 12345',
      'memberID:10276657743932975437 alarm:NOSPACE ',
      'fe01cf57, 10, 7, 2.1 MB',
    ])
    assert.deepEqual(s.err, [
      'a:1 is healthy: successfully committed proposal: took = 2.1ms',
      'b:2 is unhealthy: failed to commit proposal: etcdserver: request timed out',
    ])
  })
})

function status(): Answer<StatusResponse> {
  return {
    header: { ...header, memberId: 0x8e9e05c52164694dn },
    version: '3.4.0',
    dbSize: 25000,
    leader: 0x8e9e05c52164694dn,
    raftIndex: 8,
    raftTerm: 2,
    raftAppliedIndex: 8,
    errors: [],
    dbSizeInUse: 25000,
    isLearner: false,
  }
}

describe('json format: the gateway\'s JSON', () => {
  test('get: base64 bytes, int64 as strings, zero values left out', () => {
    const j = printer('json')
    j.p.get({ header, kvs: [kv('foo', 'bar')], more: false, count: 1 })
    assert.deepEqual(j.out, [
      '{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"5","raft_term":"2"},' +
        '"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}],"count":"1"}',
    ])
  })

  test('lease grant, member list (no revision), endpoint status wrapped as etcdctl does', () => {
    const j = printer('json')
    j.p.grant({ header, id: 7n, ttl: 10 })
    j.p.memberList({ header, members: [{ id: 1n, name: 'm1', peerUrls: ['http://a:1'], clientUrls: ['http://a:1'], isLearner: false }] })
    j.p.endpointStatus([{ endpoint: 'a:1', status: status() }])
    j.p.alarm({ alarms: [] })
    j.p.dbStatus({ hash: 1, revision: 2, totalKey: 3, totalSize: 4 })
    const h = '"cluster_id":"14841639068965178418","member_id":"10276657743932975437"'
    assert.deepEqual(j.out, [
      `{"header":{${h},"revision":"5","raft_term":"2"},"ID":"7","TTL":"10"}`,
      `{"header":{${h},"raft_term":"2"},"members":[{"ID":"1","name":"m1","peerURLs":["http://a:1"],"clientURLs":["http://a:1"]}]}`,
      '[{"Endpoint":"a:1","Status":{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437",' +
        '"revision":"5","raft_term":"2"},"version":"3.4.0","dbSize":"25000","leader":"10276657743932975437","raftIndex":"8",' +
        '"raftTerm":"2","raftAppliedIndex":"8","dbSizeInUse":"25000"}}]',
      '{}',
      '{"hash":1,"revision":2,"totalKey":3,"totalSize":4}',
    ])
  })

  test('endpoint health: etcdctl\'s own struct', () => {
    const j = printer('json')
    j.p.endpointHealth([{ endpoint: 'a:1', health: true, took: '1ms', error: '' }, { endpoint: 'b:2', health: false, took: '2ms', error: 'x' }])
    assert.deepEqual(j.out, ['[{"endpoint":"a:1","health":true,"took":"1ms"},{"endpoint":"b:2","health":false,"took":"2ms","error":"x"}]'])
  })
})

describe('table format', () => {
  test('endpoint status as etcdctl 3.4 draws it', () => {
    const t = printer('table')
    t.p.endpointStatus([{ endpoint: '127.0.0.1:2379', status: status() }])
    assert.deepEqual(t.out, [
      '+----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+',
      '|    ENDPOINT    |        ID        | VERSION | DB SIZE | IS LEADER | IS LEARNER | RAFT TERM | RAFT INDEX | RAFT APPLIED INDEX | ERRORS |',
      '+----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+',
      '| 127.0.0.1:2379 | 8e9e05c52164694d |   3.4.0 |   25 kB |      true |      false |         2 |          8 |                  8 |        |',
      '+----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+',
    ])
  })

  test('member list and snapshot status', () => {
    const t = printer('table')
    t.p.memberList({
      header,
      members: [{ id: 0x8e9e05c52164694dn, name: 'infra1', peerUrls: ['http://localhost:2380'], clientUrls: ['http://localhost:2379'], isLearner: false }],
    })
    t.p.dbStatus({ hash: 0xfe01cf57, revision: 10, totalKey: 7, totalSize: 2125824 })
    assert.deepEqual(t.out, [
      '+------------------+---------+--------+-----------------------+-----------------------+------------+',
      '|        ID        | STATUS  |  NAME  |      PEER ADDRS       |     CLIENT ADDRS      | IS LEARNER |',
      '+------------------+---------+--------+-----------------------+-----------------------+------------+',
      '| 8e9e05c52164694d | started | infra1 | http://localhost:2380 | http://localhost:2379 |      false |',
      '+------------------+---------+--------+-----------------------+-----------------------+------------+',
      '+----------+----------+------------+------------+',
      '|   HASH   | REVISION | TOTAL KEYS | TOTAL SIZE |',
      '+----------+----------+------------+------------+',
      '| fe01cf57 |       10 |          7 |     2.1 MB |',
      '+----------+----------+------------+------------+',
    ])
  })

  test('commands without a table fail with exit code 4', () => {
    const t = printer('table')
    assert.throws(
      () => t.p.put({ header, prevKv: null }),
      (err: unknown) => err instanceof CliError && err.exitCode === ExitCode.BadFeature && err.message === 'table not supported as output format',
    )
  })
})

describe('Go formats', () => {
  test("go-humanize's bytes, Go durations, hex IDs, %q", () => {
    assert.deepEqual(
      [0, 9, 999, 1500, 20480, 20500, 25000, 2125824, 10 ** 9].map(humanizeBytes),
      ['0 B', '9 B', '999 B', '1.5 kB', '20 kB', '20 kB', '25 kB', '2.1 MB', '1.0 GB'],
    )
    assert.deepEqual(
      [0n, 999n, 850_000n, 1_234_567n, 2_500_000_000n, 61_000_000_000n, 3_600_000_000_000n].map(goDuration),
      ['0s', '999ns', '850µs', '1.234567ms', '2.5s', '1m1s', '1h0m0s'],
    )
    assert.equal(leaseHex(-5n), '-000000000000005')
    assert.equal(idHex16(0xa1n), '              a1')
    assert.equal(goQuote(new Uint8Array([0x61, 0x22, 0x0a, 0xff, 0xc3, 0xa9])), '"a\\"\\n\\xffé"')
  })
})
