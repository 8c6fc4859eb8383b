/**
 * Same seed, same run: the trace digest and final state of two runs of one seed are equal, under
 * both node drivers (the member driver settles every promise between events, so its runs are as
 * deterministic as the synchronous raft driver's).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { hashString, hex32 } from './hash.ts'
import type { Driver } from './options.ts'
import { runScenario } from './simulator.ts'

interface Traced {
  readonly trace: string
  readonly lines: number
  readonly digest: string
}

async function traced(seed: number, driver: Driver = 'raft'): Promise<Traced> {
  let h = 0
  let lines = 0
  const r = await runScenario(seed, {
    driver,
    trace: (line) => {
      h = hashString(line, h)
      lines++
    },
  })
  return { trace: hex32(h), lines, digest: r.digest }
}

test('the same seed gives the same trace, line for line, and the same final state', async () => {
  const a = await traced(0x1234)
  const b = await traced(0x1234)
  assert.ok(a.lines > 1000, `only ${a.lines} trace lines`)
  assert.deepEqual(a, b)
})

test('tracing does not change the run; another seed gives another run', async () => {
  assert.equal((await runScenario(0x1234)).digest, (await traced(0x1234)).digest)
  assert.notEqual((await traced(0x1235)).trace, (await traced(0x1234)).trace)
})

test('member driver: the same seed gives the same trace and final state; tracing changes nothing', async () => {
  const a = await traced(0x5eed, 'member')
  const b = await traced(0x5eed, 'member')
  assert.ok(a.lines > 1000, `only ${a.lines} trace lines`)
  assert.deepEqual(a, b)
  assert.equal((await runScenario(0x5eed, { driver: 'member' })).digest, a.digest)
})
