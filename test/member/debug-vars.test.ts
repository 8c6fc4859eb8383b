/**
 * `/debug/vars` as etcd's expvar page: raft.status in etcd's JSON shape (compared with the page a
 * real etcd 3.4 served), the page's layout, and the process variables read from Linux's /proc.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { raftStatusJson, renderDebugVars } from '../../src/member/debug-vars.ts'
import { nodeProcessVars, openFilesLimit } from '../../src/member/process-vars.ts'
import type { ProgressStatus, Status } from '../../src/raft/types.ts'

const LEADER = 0xbdae9bbc11dd3
const FOLLOWER = 0x1a33f1e3673f07

function status(over: Partial<Status>): Status {
  return {
    id: LEADER,
    term: 2,
    vote: LEADER,
    commit: 4,
    applied: 4,
    lead: LEADER,
    role: 'leader',
    confState: { voters: [LEADER], learners: [] },
    progress: null,
    leadTransferee: 0,
    ...over,
  }
}

const progress = (match: number, next: number, state: ProgressStatus['state']): ProgressStatus => ({
  match,
  next,
  state,
  recentActive: true,
  isLearner: false,
})

describe('/debug/vars', () => {
  test("a leader's raft.status serializes as etcd's, byte for byte", () => {
    const s = status({ progress: new Map([[LEADER, progress(4, 5, 'replicate')]]) })
    // What etcd 3.4.23 served for a one-member cluster (its id here shortened to fit 53 bits).
    assert.equal(
      JSON.stringify(raftStatusJson(s)),
      '{"id":"bdae9bbc11dd3","term":2,"vote":"bdae9bbc11dd3","commit":4,"lead":"bdae9bbc11dd3",' +
        '"raftState":"StateLeader","applied":4,"progress":{"bdae9bbc11dd3":{"match":4,"next":5,"state":"StateReplicate"}},' +
        '"leadtransferee":"0"}',
    )
  })

  test('every role and progress state has its etcd name; a follower has no progress', () => {
    const names = (['follower', 'pre-candidate', 'candidate', 'leader'] as const).map((role) => raftStatusJson(status({ role })).raftState)
    assert.deepEqual(names, ['StateFollower', 'StatePreCandidate', 'StateCandidate', 'StateLeader'])
    const states = raftStatusJson(
      status({ progress: new Map([[1, progress(0, 1, 'probe')], [2, progress(3, 4, 'snapshot')], [3, progress(4, 5, 'replicate')]]) }),
    ).progress as Record<string, { state: string }>
    assert.deepEqual(Object.values(states).map((p) => p.state), ['StateProbe', 'StateSnapshot', 'StateReplicate'])
    const follower = raftStatusJson(status({ id: FOLLOWER, role: 'follower', vote: 0, progress: null }))
    assert.deepEqual(follower.progress, {})
    assert.equal(follower.vote, '0')
    assert.equal(follower.lead, LEADER.toString(16))
  })

  test('the page: sorted names, one per line, undefined left out, valid JSON', () => {
    const page = renderDebugVars({ 'raft.status': { a: 1 }, cmdline: ['x', 'y'], memstats: undefined, file_descriptor_limit: 7 })
    assert.equal(page, '{\n"cmdline": ["x","y"],\n"file_descriptor_limit": 7,\n"raft.status": {"a":1}\n}\n')
    assert.deepEqual(Object.keys(JSON.parse(page)), ['cmdline', 'file_descriptor_limit', 'raft.status'])
  })

  test('the open files limit is the soft one; unlimited or missing is left out', () => {
    const limits = (soft: string, hard: string): string =>
      `Limit                     Soft Limit           Hard Limit           Units     \n` +
      `Max processes             95853                95853                processes \n` +
      `Max open files            ${soft}                ${hard}                files     \n`
    assert.equal(openFilesLimit(limits('1024', '524288')), 1024)
    assert.equal(openFilesLimit(limits('unlimited', 'unlimited')), undefined)
    assert.equal(openFilesLimit('Limit Soft Limit\n'), undefined)
  })

  test("this process's variables match /proc/self", () => {
    const vars = nodeProcessVars()
    assert.deepEqual(vars.cmdline, readFileSync('/proc/self/cmdline', 'utf8').replace(/\0$/, '').split('\0'))
    assert.equal(vars.file_descriptor_limit, openFilesLimit(readFileSync('/proc/self/limits', 'utf8')))
    assert.equal(typeof vars.file_descriptor_limit, 'number')
    const mem = vars.memstats as Record<string, number>
    assert.ok(mem.Sys! > mem.HeapSys! && mem.HeapSys! >= mem.HeapAlloc! && mem.HeapAlloc! > 0, JSON.stringify(mem))
    assert.equal(mem.Alloc, mem.HeapAlloc)
  })
})
