/**
 * Same seed, same run: the trace digest and final state of two runs of one seed are equal.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { hashString, hex32 } from './hash.ts'
import { runScenario } from './simulator.ts'

function traced(seed: number): { trace: string; lines: number; digest: string } {
  let h = 0
  let lines = 0
  const r = runScenario(seed, {
    trace: (line) => {
      h = hashString(line, h)
      lines++
    },
  })
  return { trace: hex32(h), lines, digest: r.digest }
}

test('the same seed gives the same trace, line for line, and the same final state', () => {
  const a = traced(0x1234)
  const b = traced(0x1234)
  assert.ok(a.lines > 1000, `only ${a.lines} trace lines`)
  assert.deepEqual(a, b)
})

test('tracing does not change the run; another seed gives another run', () => {
  assert.equal(runScenario(0x1234).digest, traced(0x1234).digest)
  assert.notEqual(traced(0x1235).trace, traced(0x1234).trace)
})
