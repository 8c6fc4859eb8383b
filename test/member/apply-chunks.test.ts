/**
 * A member that has many committed entries to apply at once (a restart replaying its journal, a
 * follower catching up) applies them in Readies of at most DEFAULT_CONFIG.maxCommittedSizePerReady
 * bytes, each in its own turn of the event loop, so that timers, peers and clients are served
 * between them instead of after all of them.
 * The member is held-member.ts's: the production composition, its peers played by the test.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encodeCommand } from '../../src/mvcc/index.ts'
import { encodeEnvelope } from '../../src/member/envelope.ts'
import { DEFAULT_CONFIG } from '../../src/raft/index.ts'
import type { Entry } from '../../src/raft/types.ts'
import { fromLeaderB, openHeld, until } from './held-member.ts'

const VALUE = new Uint8Array(1000).fill(118)

function putEntry(index: number): Entry {
  const command = encodeCommand({
    type: 'put',
    request: { key: new TextEncoder().encode(`k/${index}`), value: VALUE, lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false },
  })
  return { term: 2, index, type: 'normal', data: encodeEnvelope({ id: { origin: 99, seq: index }, kind: 'mvcc', command }) }
}

test('committed entries beyond one Ready\'s bound are applied over several turns of the event loop', async () => {
  const { member, mesh } = await openHeld()
  const message = fromLeaderB(member)
  try {
    // Three Readies' worth of entries, all committed by the one message that brings them.
    const count = Math.ceil((3 * DEFAULT_CONFIG.maxCommittedSizePerReady) / VALUE.length)
    const entries = Array.from({ length: count }, (_, i) => putEntry(i + 2))
    const last = count + 1
    // What a timer sees of the applied index, turn after turn, while the member catches up.
    const seen: number[] = []
    const sample = setInterval(() => seen.push(member.actor.status().applied), 0)
    mesh.deliver(message('MsgApp', { logTerm: 1, index: 1, entries, commit: last }))
    await until('every entry applied', () => member.actor.status().applied === last)
    clearInterval(sample)
    const between = seen.filter((a) => a > 1 && a < last)
    assert.ok(between.length >= 2, `the applied index seen between the first and the last entry: ${[...new Set(between)].join(', ')}`)
    assert.equal(member.actor.status().commit, last)
  } finally {
    await member.stop()
  }
})
