/** The actor tells its owner when a checkpoint is durable (workers/member.ts frees the image then). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import initSqlJs from 'sql.js'
import { MemoryHub } from '../../src/mesh/index.ts'
import { openMember, parseMemberConfig, realClock, silentLogger } from '../../src/member/index.ts'
import { MemoryDisk } from '../../src/storage/index.ts'

const SQL = await initSqlJs()

test('onCheckpointed fires once per durable checkpoint, after --snapshot-count applied entries', async () => {
  const config = parseMemberConfig(
    ['--name', 'solo', '--data-dir', '/solo', '--heartbeat-interval', '20', '--election-timeout', '200', '--snapshot-count', '10'],
    {},
  )
  const hub = new MemoryHub()
  let checkpoints = 0
  const member = await openMember(
    config,
    {
      clock: realClock,
      rand: (n) => Math.floor(Math.random() * n),
      disk: new MemoryDisk(),
      sql: SQL,
      log: silentLogger,
      mesh: (identity) => hub.join({ id: identity.memberId, clusterToken: 'solo', peers: new Map() }),
      fetchMembers: async () => {
        throw new Error('a single member asks nobody')
      },
    },
    {},
    { onCheckpointed: () => checkpoints++ },
  )
  try {
    member.start()
    member.actor.campaign()
    while (!member.actor.isLeader) await new Promise((r) => setTimeout(r, 10))
    const put = (i: number) =>
      member.actor.propose({ type: 'put', request: { key: new TextEncoder().encode(`k${i}`), value: new Uint8Array(1), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } })
    for (let i = 0; i < 5; i++) await put(i)
    assert.equal(checkpoints, 0, 'not before 10 entries')
    for (let i = 5; i < 25; i++) await put(i)
    const deadline = Date.now() + 5000
    while (checkpoints === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    assert.ok(checkpoints >= 1 && checkpoints <= 2, `${checkpoints} checkpoints for ~25 entries`)
  } finally {
    await member.stop()
  }
})
