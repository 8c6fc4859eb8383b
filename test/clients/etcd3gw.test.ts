/**
 * A real etcd client against a real cluster: etcd3gw (Python, Debian's python3-etcd3gw, used by
 * OpenStack's tooz), which speaks etcd's JSON gateway API, runs etcd3gw-check.py through the
 * gateway and against a follower. The script asserts each answer itself; here its output must
 * end with "OK". `.ci/run` installs the package.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { useCluster } from '../e2e/cluster-harness.ts'
import { runPython } from './python.ts'

const SCRIPT = fileURLToPath(new URL('./etcd3gw-check.py', import.meta.url))

const run = (args: readonly string[]): ReturnType<typeof runPython> => runPython(args, 60_000)

describe('etcd3gw, a JSON gateway client', { timeout: 120_000 }, () => {
  const cluster = useCluster({ gateway: true })

  test('the client is installed (python3-etcd3gw)', async () => {
    const { code, out } = await run(['-c', 'import etcd3gw'])
    assert.equal(code, 0, `etcd3gw is missing: apt-get install python3-etcd3gw (as .ci/run does)\n${out}`)
  })

  test('kv, txns, leases, locks and watches through the gateway and on a follower', async () => {
    const leader = await cluster.leader()
    const follower = cluster.memberNames.find((n) => n !== leader.name) as string
    for (const [where, base] of [['gateway', cluster.gatewayUrl], [follower, cluster.url(follower)]] as const) {
      const { hostname, port } = new URL(base)
      const { code, out } = await run([SCRIPT, hostname, port, `gw-${where}/`])
      assert.equal(code, 0, `etcd3gw through ${where}:\n${out}`)
      assert.match(out, /\nOK\n$/, `etcd3gw through ${where}:\n${out}`)
    }
  })
})
