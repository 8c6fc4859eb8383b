/**
 * The chaos harness itself: a member that dies on its own stays reported after it is started
 * again, and the slow-disk fault (SIGUSR2, whose default action ends a process) leaves alone a
 * member still starting, which has no handler for it yet, and a process started since it was armed.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ChaosCluster } from './cluster.ts'
import { Nemesis, SLOW_DISK_ENV } from './faults.ts'
import type { FaultRecord } from './history.ts'
import { Rng } from './prng.ts'

describe('chaos harness', { concurrency: false, timeout: 120_000 }, () => {
  let dir: string
  let cluster: ChaosCluster

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgecd-harness-'))
    cluster = new ChaosCluster({ size: 1, dir, heartbeatMs: 50, electionMs: 500, env: SLOW_DISK_ENV })
    await cluster.start()
  })
  after(async () => {
    await cluster.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('slow-disk skips a member that is still starting, and arms and disarms one that answers', async () => {
    const faults: FaultRecord[] = []
    const nemesis = new Nemesis(cluster, new Rng(1), () => 0, faults, ['slow-disk'])
    await cluster.kill('m1')
    cluster.spawn('m1', SLOW_DISK_ENV)
    assert.equal(await nemesis.inject('slow-disk', 100), null, 'a member that does not answer yet gets no SIGUSR2')
    await cluster.waitForLeader(30_000)
    const armed = await nemesis.inject('slow-disk', 300)
    assert.equal(armed?.target, 'm1')
    assert.ok(cluster.isRunning('m1'), 'the member took SIGUSR2 twice and runs on')
    assert.deepEqual(cluster.crashed(), [])
  })

  it('slow-disk does not signal a process started after it armed the disk', async () => {
    const nemesis = new Nemesis(cluster, new Rng(2), () => 0, [], ['slow-disk'])
    await cluster.waitForLeader(30_000)
    const fault = nemesis.inject('slow-disk', 1500)
    await new Promise((r) => setTimeout(r, 1000))
    await cluster.kill('m1')
    cluster.spawn('m1', SLOW_DISK_ENV)
    // The fault ends while the new process starts: a SIGUSR2 now would end it.
    assert.equal((await fault)?.target, 'm1')
    await cluster.waitForLeader(30_000)
    assert.ok(cluster.isRunning('m1'))
    assert.deepEqual(cluster.crashed(), [])
  })

  it('a member that died on its own is still reported once it was started again', async () => {
    const pid = cluster.pidOf('m1')
    assert.ok(pid !== null)
    process.kill(pid, 'SIGKILL')
    await cluster.member('m1').exited
    cluster.spawn('m1', SLOW_DISK_ENV)
    await cluster.waitForLeader(30_000)
    assert.deepEqual(cluster.crashed(), ['m1 (killed by SIGKILL)'])
  })
})
