/**
 * The strict reconfiguration check of member add / remove / promote, against a cluster described
 * by hand (which members exist, which have published themselves, which the leader hears from):
 * the answers etcd 3.4.23 gives in the same situations (observed on it, see
 * shared/etcd-v3-http-api.md §8), and the change proposed when the check passes.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { add, promote, remove } from '../../src/member/cluster-service.ts'
import type { MemberInfo } from '../../src/member/cluster-table.ts'
import type { MemberContext } from '../../src/member/member-context.ts'
import { EtcdError } from '../../src/mvcc/index.ts'

const SELF = 1

interface Described {
  /** id → [published (has a name), learner] */
  readonly members: Record<number, readonly [boolean, boolean]>
  /** Peers the leader heard from lately (itself always counts). */
  readonly heard: readonly number[]
  /** id → the index the leader knows it holds (the leader's and the default: 10, caught up). */
  readonly match?: Record<number, number>
}

/** A leader's view of `d`, recording what it proposes. */
function leaderOf(d: Described): { m: MemberContext; proposed: string[] } {
  const proposed: string[] = []
  const members: MemberInfo[] = Object.entries(d.members).map(([id, [published, isLearner]]) => ({
    id: Number(id),
    name: published ? `m${id}` : '',
    peerUrls: [`http://127.0.0.1:${20000 + Number(id)}`],
    clientUrls: [],
    isLearner,
  }))
  const actor = {
    members: () => members,
    heardFrom: (id: number) => d.heard.includes(id),
    isRemovedId: () => false,
    status: () => ({ id: SELF, progress: new Map(Object.keys(d.members).map((id) => [Number(id), { match: d.match?.[Number(id)] ?? 10 }])) }),
    clock: { now: () => 1000 },
    proposeConfChange: async (kind: string, id: number) => {
      proposed.push(`${kind} ${id === 0 ? 'new' : id}`)
      return members
    },
  }
  const m = { actor, identity: { memberId: SELF }, clusterToken: 't' } as unknown as MemberContext
  return { m, proposed }
}

const newPeer = (isLearner: boolean) => ({ peerUrls: ['http://127.0.0.1:29999'], isLearner })

/** What a call answers: the kinds proposed, or the error's HTTP status, gRPC code and message. */
async function outcome(call: (m: MemberContext) => Promise<unknown>, d: Described): Promise<string> {
  const { m, proposed } = leaderOf(d)
  try {
    await call(m)
    return `proposed ${proposed.map((p) => p.split(' ')[0]).join(',')}`
  } catch (err) {
    if (!(err instanceof EtcdError)) throw err
    return `${err.code} ${err.message}`
  }
}

const NOT_ENOUGH = '2 etcdserver: re-configuration failed due to not enough started members'
const UNHEALTHY = '14 etcdserver: unhealthy cluster'
const TOO_MANY_LEARNERS = '9 etcdserver: too many learner members in cluster'

test('a one-member cluster takes a voter (etcd lets it grow so) or one learner, not two', async () => {
  const single: Described = { members: { 1: [true, false] }, heard: [] }
  assert.equal(await outcome((m) => add(m, newPeer(false)), single), 'proposed add-voter')
  assert.equal(await outcome((m) => add(m, newPeer(true)), single), 'proposed add-learner')
  const withLearner: Described = { members: { 1: [true, false], 5: [false, true] }, heard: [] }
  assert.equal(await outcome((m) => add(m, newPeer(true)), withLearner), TOO_MANY_LEARNERS)
  assert.equal(await outcome((m) => add(m, newPeer(false)), withLearner), 'proposed add-voter')
})

test('with a voter added but never started: no more voters, no learner, and it can be removed', async () => {
  const d: Described = { members: { 1: [true, false], 2: [false, false] }, heard: [] }
  assert.equal(await outcome((m) => add(m, newPeer(false)), d), NOT_ENOUGH)
  assert.equal(await outcome((m) => add(m, newPeer(true)), d), UNHEALTHY)
  assert.equal(await outcome((m) => remove(m, { id: 2n }), d), 'proposed remove')
  // Removing the only started member of the two would leave no started quorum.
  assert.equal(await outcome((m) => remove(m, { id: 1n }), d), NOT_ENOUGH)
})

test('three started voters, one unreachable: additions refused, removing it allowed, another not', async () => {
  const d: Described = { members: { 1: [true, false], 2: [true, false], 3: [true, false] }, heard: [2] }
  assert.equal(await outcome((m) => add(m, newPeer(true)), d), UNHEALTHY)
  assert.equal(await outcome((m) => add(m, newPeer(false)), d), UNHEALTHY)
  assert.equal(await outcome((m) => remove(m, { id: 3n }), d), 'proposed remove')
  assert.equal(await outcome((m) => remove(m, { id: 2n }), d), UNHEALTHY)
  const all: Described = { ...d, heard: [2, 3] }
  assert.equal(await outcome((m) => add(m, newPeer(false)), all), 'proposed add-voter')
  assert.equal(await outcome((m) => remove(m, { id: 2n }), all), 'proposed remove')
})

test('promotion counts the learner as started; learners are removed without a check', async () => {
  const ok: Described = { members: { 1: [true, false], 2: [false, false], 4: [true, true] }, heard: [] }
  assert.equal(await outcome((m) => promote(m, { id: 4n }), ok), 'proposed add-voter')
  assert.equal(await outcome((m) => remove(m, { id: 4n }), ok), 'proposed remove')
  const short: Described = { members: { 1: [true, false], 2: [false, false], 3: [false, false], 4: [true, true] }, heard: [] }
  assert.equal(await outcome((m) => promote(m, { id: 4n }), short), NOT_ENOUGH)
  // etcd checks readiness first: a learner behind the leader is "not in sync" even then.
  const NOT_READY = '9 etcdserver: can only promote a learner member which is in sync with leader'
  assert.equal(await outcome((m) => promote(m, { id: 4n }), { ...short, match: { 4: 1 } }), NOT_READY)
  // A voter: not in sync while behind (never started), else not a learner.
  assert.equal(await outcome((m) => promote(m, { id: 2n }), { ...ok, match: { 2: 0 } }), NOT_READY)
  assert.equal(await outcome((m) => promote(m, { id: 2n }), ok), '9 etcdserver: can only promote a learner member')
})
