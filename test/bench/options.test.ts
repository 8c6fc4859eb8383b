/**
 * bench/lib/options.ts: `--gateway-processes` reaches the options, and a report names it only
 * when the gateway runs as more than one process.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { gatewayProcessesOption, parseOptions } from '../../bench/lib/options.ts'

test('--gateway-processes: 1 unless given; a report names it only when it is not 1', () => {
  const usual = parseOptions([], {})
  assert.equal(usual.gatewayProcesses, 1)
  assert.deepEqual(gatewayProcessesOption(usual), {})
  const two = parseOptions(['--gateway-processes', '2', '--gateway-only'], {})
  assert.equal(two.gatewayProcesses, 2)
  assert.equal(two.gatewayOnly, true)
  assert.deepEqual(gatewayProcessesOption(two), { gatewayProcesses: 2 })
})
