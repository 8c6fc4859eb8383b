/**
 * The cluster service against §8: requests, peer URL validation, responses without a revision.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Errors } from '../../src/mvcc/errors.ts'
import {
  decodeRequest, encodeResponse, errorResponse, memberAdd, memberList, memberPromote, memberRemove, memberUpdate,
  validPeerUrls, type AnyEndpoint, type Member,
} from '../../src/api/index.ts'
import { CTX, hdr, throwsEtcd } from './helpers.ts'

test('§8 member requests decode', () => {
  assert.deepEqual(decodeRequest(memberList, '{}'), {})
  assert.deepEqual(decodeRequest(memberList, '{"linearizable":true}'), {})
  assert.deepEqual(decodeRequest(memberAdd, '{"peerURLs":["http://127.0.0.1:14380"],"isLearner":true}'), {
    peerUrls: ['http://127.0.0.1:14380'],
    isLearner: true,
  })
  assert.deepEqual(decodeRequest(memberUpdate, '{"ID":"15088572821606663487","peerURLs":["http://127.0.0.1:14381"]}'), {
    id: 15088572821606663487n,
    peerUrls: ['http://127.0.0.1:14381'],
  })
  assert.deepEqual(decodeRequest(memberPromote, '{"ID":"15088572821606663487"}'), { id: 15088572821606663487n })
  assert.deepEqual(decodeRequest(memberRemove, '{"ID":"15088572821606663487"}'), { id: 15088572821606663487n })
})

const BAD_ADDS: readonly [string, string][] = [
  ['no URLs ({})', '{}'],
  ['an empty list', '{"peerURLs":[]}'],
  ['no scheme', '{"peerURLs":["127.0.0.1:2380"]}'],
  ['a foreign scheme', '{"peerURLs":["ftp://127.0.0.1:2380"]}'],
  ['no port', '{"peerURLs":["http://127.0.0.1"]}'],
  ['a path', '{"peerURLs":["http://127.0.0.1:2380/x"]}'],
  ['a trailing slash', '{"peerURLs":["http://127.0.0.1:2380/"]}'],
  ['a bad port', '{"peerURLs":["http://127.0.0.1:ab"]}'],
  ['one bad among good', '{"peerURLs":["http://a:1","nope"]}'],
  ['an empty string', '{"peerURLs":[""]}'],
  ['an IPv6 address without brackets', '{"peerURLs":["http://::1:2380"]}'],
]

for (const [name, body] of BAD_ADDS) {
  test(`§8 member add with ${name} → 400 / 3 given member URLs are invalid`, () => {
    throwsEtcd(() => decodeRequest(memberAdd, body), 3, 'etcdserver: given member URLs are invalid')
  })
}

test('peer URLs etcd accepts', () => {
  for (const url of ['http://127.0.0.1:14380', 'https://a.example:2380', ' http://h:1 ', 'HTTP://h:1', 'http://[::1]:2380',
    'unix://sock:1', 'unixs://sock:1', 'http://h:', 'http://h:1?x=y', 'http://user@h:1']) {
    assert.equal(validPeerUrls([url]), true, url)
  }
})

const learner: Member = { id: 15088572821606663487n, name: '', peerUrls: ['http://127.0.0.1:14380'], clientUrls: [], isLearner: true }
const conf: Member = {
  id: 15985099378392235387n, name: 'conf', peerUrls: ['http://127.0.0.1:12380'], clientUrls: ['http://127.0.0.1:12379'], isLearner: false,
}
const LEARNER = '{"ID":"15088572821606663487","peerURLs":["http://127.0.0.1:14380"],"isLearner":true}'
const CONF = '{"ID":"15985099378392235387","name":"conf","peerURLs":["http://127.0.0.1:12380"],"clientURLs":["http://127.0.0.1:12379"]}'

test('§8 member responses: header without revision, whatever the typed header says', () => {
  assert.equal(encodeResponse(memberList, { header: { revision: 9 }, members: [conf] }, CTX), `{${hdr(0)},"members":[${CONF}]}`)
  assert.equal(
    encodeResponse(memberAdd, { header: { revision: 9 }, member: learner, members: [learner, conf] }, CTX),
    `{${hdr(0)},"member":${LEARNER},"members":[${LEARNER},${CONF}]}`,
  )
  for (const ep of [memberRemove, memberUpdate, memberPromote] as AnyEndpoint[]) {
    assert.equal(encodeResponse(ep, { header: { revision: 0 }, members: [conf] }, CTX), `{${hdr(0)},"members":[${CONF}]}`)
  }
})

const CLUSTER_ERRORS: readonly [string, ReturnType<typeof Errors.memberNotFound>, number, number][] = [
  ['unknown ID', Errors.memberNotFound(), 404, 5],
  ['update to a peer URL in use', Errors.peerUrlExists(), 412, 9],
  ['promote a voter', Errors.memberNotLearner(), 412, 9],
  ['promote a learner not in sync', Errors.learnerNotReady(), 412, 9],
  ['not enough started members', Errors.notEnoughStartedMembers(), 500, 2],
  ['member add after quorum loss', Errors.unhealthy(), 503, 14],
]

for (const [name, err, status, code] of CLUSTER_ERRORS) {
  test(`§8 ${name} → ${status} / ${code} "${err.message}"`, () => {
    const r = errorResponse(err)
    assert.equal(r.status, status)
    assert.equal(r.body, `{"error":"${err.message}","message":"${err.message}","code":${code}}`)
  })
}
