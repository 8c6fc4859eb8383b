/**
 * A real etcd client against a real cluster: python-etcd3 (Python, Debian's python3-etcd3, the
 * `etcd3` package on grpcio), which speaks etcd's gRPC API, runs etcd3-python-check.py through
 * the gateway and against a follower. The script asserts each answer itself (the answers etcd 3.4
 * gives, revisions included, relative to the one it starts at); here its output must end with
 * "OK". etcd's timing (STEADY_TIMING) so that the minimum lease TTL is etcd's default, 2 s.
 * `.ci/run` installs the package.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { STEADY_TIMING, useCluster } from '../e2e/cluster-harness.ts'
import { runPython } from './python.ts'

const SCRIPT = fileURLToPath(new URL('./etcd3-python-check.py', import.meta.url))

const run = (args: readonly string[]): ReturnType<typeof runPython> => runPython(args, 120_000)

describe('python-etcd3, a gRPC client', { timeout: 300_000 }, () => {
  const cluster = useCluster({ gateway: true, ...STEADY_TIMING })

  test('the client is installed (python3-etcd3)', async () => {
    const { code, out } = await run(['-c', 'import etcd3'])
    assert.equal(code, 0, `etcd3 is missing: apt-get install python3-etcd3 (as .ci/run does)\n${out}`)
  })

  test('kv, txns, leases, watches, compaction, locks, maintenance and errors through the gateway and on a follower', async () => {
    const leader = await cluster.leader()
    const follower = cluster.memberNames.find((n) => n !== leader.name) as string
    for (const [where, base] of [['gateway', cluster.gatewayUrl], [follower, cluster.url(follower)]] as const) {
      const { hostname, port } = new URL(base)
      const { code, out } = await run([SCRIPT, hostname, port, `py-${where}/`])
      assert.equal(code, 0, `python-etcd3 through ${where}:\n${out}`)
      assert.match(out, /\nOK\n$/, `python-etcd3 through ${where}:\n${out}`)
    }
  })
})
