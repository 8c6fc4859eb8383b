/**
 * A seeded randomized run of whole clusters through drops, duplicates, reordering, partitions,
 * restarts, compaction and membership changes, checking Raft's safety properties after every
 * step. A small in-folder cousin of the simulator in test/sim, to catch core bugs early.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Network, bytes, seededRand } from './network.ts'
import {
  MemoryStorage,
  describeMessage,
  type ConfChange,
  type Message,
  type NodeId,
  type ProposalResult,
} from '../../src/raft/index.ts'

interface Options {
  readonly seed: number
  readonly voters: number
  readonly steps: number
  readonly preVote: boolean
  readonly checkQuorum: boolean
  readonly membership: boolean
}

function run(o: Options): { commits: number; leaders: number } {
  const rand = seededRand(o.seed)
  const chance = (pct: number): boolean => rand(100) < pct
  const ids = Array.from({ length: o.voters }, (_, i) => i + 1)
  const tuning = { maxSizePerMsg: 64, maxInflightMsgs: 4 }
  const net = new Network(ids, { preVote: o.preVote, checkQuorum: o.checkQuorum, ...tuning })
  let nextId = o.voters + 1
  let pool: Message[] = []
  const leaderOfTerm = new Map<number, NodeId>()
  /** index -> "term:data" of every entry any node applied. */
  const committed = new Map<number, string>()
  const trace: string[] = []
  const fail = (why: string): never => {
    throw new Error(`seed ${o.seed}: ${why}\nlast trace:\n${trace.slice(-30).join('\n')}`)
  }

  const check = (): void => {
    for (const m of net.members.values()) {
      const st = m.node.status()
      if (st.role === 'leader') {
        const prev = leaderOfTerm.get(st.term)
        if (prev !== undefined && prev !== m.id) fail(`two leaders in term ${st.term}: ${prev} and ${m.id}`)
        if (prev === undefined) {
          leaderOfTerm.set(st.term, m.id)
          // Leader completeness: a new leader holds every entry applied anywhere.
          for (const [index, v] of committed) {
            if (index <= m.storage.snapshot().metadata.index) continue
            const e = m.storage.allEntries().find((x) => x.index === index)
            if (!e || `${e.term}:${new TextDecoder().decode(e.data)}` !== v) {
              // The leader may hold it only in its unstable log: accept it if a later Ready persists it.
              const stored = e ? `${e.term}` : 'missing'
              fail(`leader ${m.id} of term ${st.term} lacks committed entry ${index} (${v}, has ${stored})`)
            }
          }
        }
      }
      for (const [index, e] of m.applied) {
        const v = `${e.term}:${new TextDecoder().decode(e.data)}`
        const prev = committed.get(index)
        if (prev !== undefined && prev !== v) fail(`node ${m.id} applied ${v} at ${index}, others ${prev}`)
        committed.set(index, v)
      }
    }
    // Log matching on persisted logs: same index and term imply the same entry.
    const byPos = new Map<string, string>()
    for (const m of net.members.values()) {
      for (const e of m.storage.allEntries()) {
        const k = `${e.index}/${e.term}`
        const v = `${e.type}:${new TextDecoder().decode(e.data)}`
        const prev = byPos.get(k)
        if (prev !== undefined && prev !== v) fail(`log matching broken at ${k}`)
        byPos.set(k, v)
      }
    }
  }

  let proposals = 0
  const change = (lead: NodeId, type: ConfChange['type'], nodeId: NodeId): ProposalResult =>
    net.node(lead).proposeConfChange({ type, nodeId, context: new Uint8Array(0) })
  for (let step = 0; step < o.steps; step++) {
    const members = [...net.members.keys()]
    const pick = (): NodeId => members[rand(members.length)] as NodeId
    const roll = rand(1000)
    if (roll < 300) {
      const id = pick()
      net.node(id).tick()
      trace.push(`tick ${id}`)
    } else if (roll < 650) {
      if (pool.length > 0) {
        const i = rand(pool.length)
        const m = pool[i] as Message
        if (!chance(30)) pool.splice(i, 1) // else: duplicate later
        if (!chance(10)) {
          trace.push(`deliver ${describeMessage(m)}`)
          const target = net.members.get(m.to)
          target?.node.step(m)
          if (m.type === 'MsgSnap') net.members.get(m.from)?.node.reportSnapshot(m.to, target !== undefined)
        }
      }
    } else if (roll < 760) {
      const id = pick()
      const r = net.node(id).propose(bytes(`v${proposals++}`))
      trace.push(`propose ${id} ${JSON.stringify(r)}`)
    } else if (roll < 800) {
      const id = pick()
      const st = net.member(id).storage
      // A commit-only hard state change is not synced (mustSync=false): a crash may lose it.
      if (chance(50)) st.setHardState({ ...st.initialState().hardState, commit: st.snapshot().metadata.index })
      net.restart(id)
      pool = pool.filter((m) => m.to !== id)
      trace.push(`restart ${id}`)
    } else if (roll < 830) {
      // Compact a node's storage up to what it applied.
      const m = net.member(pick())
      const idx = m.appliedIndex
      if (idx > m.storage.snapshot().metadata.index && idx <= m.storage.lastIndex()) {
        m.storage.createSnapshot(idx, m.node.status().confState, new Uint8Array(0))
        m.storage.compact(idx)
        trace.push(`compact ${m.id} ${idx}`)
      }
    } else if (roll < 845) {
      pool = pool.filter(() => chance(50))
      trace.push('drop half')
    } else if (roll < 880 && o.membership) {
      const lead = net.leader()
      if (lead !== 0) {
        const cs = net.node(lead).status().confState
        const r = rand(3)
        if (r === 0 && cs.voters.length + cs.learners.length < o.voters + 2) {
          const id = nextId++
          net.add(id, new MemoryStorage())
          const res = change(lead, 'add-learner', id)
          trace.push(`add-learner ${id} ${JSON.stringify(res)}`)
        } else if (r === 1 && cs.learners.length > 0) {
          const id = cs.learners[0] as NodeId
          const res = change(lead, 'add-voter', id)
          trace.push(`promote ${id} ${JSON.stringify(res)}`)
        } else if (r === 2 && cs.voters.length > 2) {
          const id = cs.voters[rand(cs.voters.length)] as NodeId
          const res = change(lead, 'remove', id)
          trace.push(`remove ${id} ${JSON.stringify(res)}`)
        }
      }
    }
    for (const id of net.members.keys()) {
      // Sometimes the node receives messages while its last Ready is being persisted.
      const interleave = (): void => {
        for (let k = rand(3); k > 0 && pool.length > 0; k--) {
          const i = pool.findIndex((x) => x.to === id)
          if (i < 0) break
          const [msg] = pool.splice(i, 1)
          trace.push(`deliver mid-ready ${describeMessage(msg as Message)}`)
          net.node(id).step(msg as Message)
        }
      }
      net.handleReady(id, chance(20) ? interleave : undefined)
    }
    pool.push(...net.takeQueued())
    check()
  }
  // Liveness: heal and keep ticking everyone until one leader has everything committed and applied
  // by all of its voters; then a last proposal must reach every voter.
  const settle = (): NodeId => {
    for (let round = 0; round < 400; round++) {
      for (const m of pool) net.send(m)
      pool = []
      for (const id of net.members.keys()) net.node(id).tick()
      net.stabilize()
      check()
      const lead = net.leader()
      if (lead === 0) continue
      const st = net.node(lead).status()
      const applied = net.member(lead).appliedIndex
      if (applied === st.commit && st.confState.voters.every((v) => net.member(v).appliedIndex === applied)) return lead
    }
    return fail('no convergence after healing')
  }
  const dec = new TextDecoder()
  const hasFinal = (id: NodeId): boolean => [...net.member(id).applied.values()].some((e) => dec.decode(e.data) === 'final')
  for (let attempt = 0; attempt < 5; attempt++) {
    const lead = settle()
    if (!hasFinal(lead)) net.node(lead).propose(bytes('final'))
    const again = settle()
    const voters = net.node(again).status().confState.voters
    if (voters.every(hasFinal)) return { commits: committed.size, leaders: leaderOfTerm.size }
  }
  return fail('the final proposal never reached every voter')
}

const variants: { name: string; opts: Omit<Options, 'seed'> }[] = [
  {
    name: '3 voters, plain',
    opts: { voters: 3, steps: 3000, preVote: false, checkQuorum: false, membership: false },
  },
  {
    name: '5 voters, pre-vote + check-quorum',
    opts: { voters: 5, steps: 3000, preVote: true, checkQuorum: true, membership: false },
  },
  {
    name: '3 voters, membership changes',
    opts: { voters: 3, steps: 4000, preVote: true, checkQuorum: true, membership: true },
  },
]

for (const v of variants) {
  test(`chaos: ${v.name}: safety holds under faults for fixed seeds, and the cluster converges`, () => {
    let commits = 0
    let leaders = 0
    for (let seed = 1; seed <= 12; seed++) {
      const r = run({ ...v.opts, seed })
      commits += r.commits
      leaders += r.leaders
    }
    // The runs must actually do something for the checks to mean anything.
    assert.ok(commits > 100, `only ${commits} commits`)
    assert.ok(leaders > 12, `only ${leaders} leaders`)
  })
}
