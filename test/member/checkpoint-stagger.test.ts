/** Members of one cluster take their checkpoints at different indexes (member.ts checkpointStagger). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkpointStagger } from '../../src/member/member.ts'

const cluster = (...names: string[]): ReadonlyMap<string, readonly string[]> =>
  new Map(names.map((n, i) => [n, [`http://127.0.0.1:${2380 + i}`]]))

test('checkpointStagger spreads the members of --initial-cluster evenly over one period, by name', () => {
  const initialCluster = cluster('m3', 'm1', 'm2')
  const staggers = ['m1', 'm2', 'm3'].map((name) => checkpointStagger({ name, initialCluster, snapshotCount: 100_000 }))
  assert.deepEqual(staggers, [0, 33_333, 66_666])
})

test('checkpointStagger: any cluster size gets distinct staggers below the period', () => {
  for (const size of [1, 2, 5, 7]) {
    const names = Array.from({ length: size }, (_, i) => `member-${i}`)
    const initialCluster = cluster(...names)
    const staggers = names.map((name) => checkpointStagger({ name, initialCluster, snapshotCount: 10 }))
    assert.equal(new Set(staggers).size, size, `distinct for ${size} members: ${staggers}`)
    for (const s of staggers) assert.ok(s >= 0 && s < 10, `${s} within the period`)
  }
})
