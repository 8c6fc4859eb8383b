/** The differential check's comparison catches what must match and lets through what may differ. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { normalize, render, same, type Answer, type SystemIds } from './compare-answers.ts'
import { flatten } from './watch-recorder.ts'

const answer = (json: unknown, status = 200): Answer => ({ status, text: JSON.stringify(json), json })
const ids = (leases: string[], raw: string[], members: string[] = [], self = '0'): SystemIds => ({ leases, rawLeases: new Set(raw), members, self: { id: self, peerUrl: `http://127.0.0.1:${self}` } })
const etcd = ids(['7587869563484213000', '7587869563484213017'], ['7587869563484213009'])
const edgecd = ids(['1', '2'], ['3'])
const header = (cluster: string, member: string, revision: string) => ({ cluster_id: cluster, member_id: member, revision, raft_term: '2' })

test('what may differ is ignored: cluster and member IDs, raft term, lease IDs by grant order, lease list order', () => {
  assert.ok(same(answer({ header: header('1', '2', '5'), ID: '7587869563484213017', TTL: '60' }), answer({ header: header('8', '9', '5'), ID: '2', TTL: '60' }), etcd, edgecd))
  assert.ok(same(answer({ header: header('1', '2', '5'), ID: '7587869563484213009', TTL: '2' }), answer({ header: header('8', '9', '5'), ID: '3', TTL: '2' }), etcd, edgecd))
  const list = (ids: string[]) => ({ header: header('1', '2', '5'), leases: ids.map((ID) => ({ ID })) })
  assert.ok(same(answer(list(['7587869563484213017', '7587869563484213009', '7587869563484213000'])), answer(list(['1', '2'])), etcd, edgecd))
  assert.ok(same(answer({ ID: '1', TTL: '59', grantedTTL: '60' }), answer({ ID: '1', TTL: '58', grantedTTL: '60' }), ids([], []), ids([], [])))
})

test('what must match is caught: status, revision, a field, a lease, a remaining TTL off by two, text bodies', () => {
  const none = ids([], [])
  assert.equal(same(answer({ header: header('1', '2', '5') }), answer({ header: header('1', '2', '6') }), none, none), false)
  assert.equal(same(answer({ error: 'x', code: 3 }, 400), answer({ error: 'x', code: 3 }, 404), none, none), false)
  assert.equal(same(answer({ kvs: [{ key: 'YQ==', version: '2' }], more: true }), answer({ kvs: [{ key: 'YQ==', version: '2' }] }), none, none), false)
  assert.equal(same(answer({ ID: '7587869563484213000' }), answer({ ID: '2' }), etcd, edgecd), false, 'the first lease is not the second')
  assert.equal(same(answer({ ID: '1', TTL: '59' }), answer({ ID: '1', TTL: '57' }), none, none), false)
  assert.equal(same(answer({ grantedTTL: '60' }), answer({ grantedTTL: '59' }), none, none), false, 'only the remaining TTL may move')
  const withHeaders = (headers: Record<string, string>): Answer => ({ ...answer({ error: 'x', code: 5 }, 404), headers })
  assert.equal(same(withHeaders({ 'content-type': 'application/json' }), withHeaders({ 'content-type': 'application/json', 'grpc-metadata-content-type': 'application/grpc' }), none, none), false)
  const text = (t: string, status = 404): Answer => ({ status, text: t, json: null })
  assert.equal(same(text('Not Found'), text('404 page not found'), none, none), false)
  assert.ok(same(text('Not Found'), text('Not Found'), none, none))
})

test('a request names leases by grant order: each system gets its own ID, or an unknown one', () => {
  const req = { path: '/v3/kv/put', body: { key: 'YQ==', lease: { $lease: 1 } } }
  assert.equal(render(req, etcd), '{"key":"YQ==","lease":"7587869563484213017"}')
  assert.equal(render(req, edgecd), '{"key":"YQ==","lease":"2"}')
  assert.equal(render({ path: '/v3/lease/revoke', body: { ID: { $lease: 3 } } }, edgecd), '{"ID":"424245"}')
  assert.equal(render({ path: '/v3/kv/put', body: null, raw: '{"key":' }, edgecd), '{"key":')
})

test('watch streams compare by their events, not by how they were grouped into messages', () => {
  const none = ids([], [])
  const ev = (rev: number) => ({ kv: { key: 'YQ==', mod_revision: String(rev) } })
  const stream = (...messages: Array<Record<string, unknown>>) => messages.map((result) => ({ result: { header: { revision: '9', raft_term: '2' }, ...result } })).flatMap(flatten)
  const one = stream({ created: true }, { events: [ev(3), ev(4)] })
  const two = stream({ created: true }, { events: [ev(3)] }, { events: [ev(4)] })
  assert.equal(normalize(one, none).body, normalize(two, none).body)
  assert.notEqual(normalize(one, none).body, normalize(stream({ created: true }, { events: [ev(3)] }), none).body, 'a lost event')
  assert.notEqual(normalize(stream({ created: true }, { canceled: true, compact_revision: '5' }), none).body, normalize(stream({ created: true }), none).body)
})

test('members compare by the order they were added in, the own member as "self"; their fields still count', () => {
  const e = ids([], [], ['15088572821606663487'], '3319814642761637952')
  const g = ids([], [], ['228545276930627'], '6598705467409608')
  const learner = (ID: string, isLearner = true) => ({ ID, peerURLs: ['http://127.0.0.1:31000'], ...(isLearner ? { isLearner } : {}) })
  const list = (self: Record<string, unknown>, other: Record<string, unknown>, first: 'self' | 'other') => ({ header: header('1', '2', '5'), members: first === 'self' ? [self, other] : [other, self] })
  const etcdSelf = { ID: '3319814642761637952', name: 'default', peerURLs: ['http://127.0.0.1:23800'], clientURLs: ['http://127.0.0.1:23790'] }
  const edgeSelf = { ID: '6598705467409608', name: 'm1', peerURLs: ['http://127.0.0.1:23791'], clientURLs: ['http://127.0.0.1:23791'] }
  assert.ok(same(answer(list(etcdSelf, learner('15088572821606663487'), 'self')), answer(list(edgeSelf, learner('228545276930627'), 'other')), e, g))
  assert.equal(same(answer(list(etcdSelf, learner('15088572821606663487'), 'self')), answer(list(edgeSelf, learner('228545276930627', false), 'self')), e, g), false, 'a learner flag')
  assert.equal(render({ path: '/v3/cluster/member/remove', body: { ID: { $member: 0 } } }, g), '{"ID":"228545276930627"}')
  assert.equal(render({ path: '/v3/cluster/member/promote', body: { ID: { $member: -1 } } }, e), '{"ID":"3319814642761637952"}')
  assert.equal(render({ path: '/v3/cluster/member/add', body: { peerURLs: [{ $selfPeer: true }] } }, g), '{"peerURLs":["http://127.0.0.1:6598705467409608"]}')
  const status = (dbSize: string, version: string) => ({ header: header('1', '2', '5'), version, dbSize, leader: '3', raftIndex: '9', errors: ['memberID:5 alarm:CORRUPT '] })
  assert.ok(same(answer(status('20480', '3.4.23')), answer(status('106496', '3.4.23')), e, g))
  assert.equal(same(answer(status('20480', '3.4.23')), answer(status('20480', '3.5.0')), e, g), false, 'the version')
})
