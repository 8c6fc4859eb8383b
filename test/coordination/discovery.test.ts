/**
 * Service discovery on a 3-member cluster with a gateway: instances registered by separate
 * processes show up in a discovered view (and in its change stream), stay while their processes
 * live, and disappear within their TTL when a process is killed with SIGKILL; a deregistered
 * instance disappears at once.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createClient, Discovery, type ServiceChange } from '../../src/client/index.ts'
import { eventually, sleep, useCluster } from '../e2e/cluster-harness.ts'
import { useFixtures } from './processes.ts'

const TTL = 2

describe('service discovery', { timeout: 90_000 }, () => {
  const cluster = useCluster({ gateway: true })
  const fixtures = useFixtures()

  test('a killed instance disappears within its TTL; a deregistered one at once', async () => {
    const endpoints = [cluster.gatewayUrl, ...cluster.memberNames.map((n) => cluster.url(n))]
    const discovery = new Discovery(createClient({ endpoints }))
    const view = await discovery.discover('api')
    const changes: Array<ServiceChange & { readonly at: number }> = []
    const listening = (async () => {
      for await (const change of view.changes) changes.push({ ...change, at: Date.now() })
    })()
    const start = (label: string, host: number): ReturnType<typeof fixtures.start> => {
      const address = `http://10.0.0.${host}:8080`
      return fixtures.start('service', { service: 'api', label, address, ttl: TTL, endpoints })
    }
    const one = start('api-1', 1)
    const two = start('api-2', 2)
    await eventually('both instances are up', () => {
      assert.deepEqual(view.instances().map((i) => i.id).sort(), ['api-1', 'api-2'])
      assert.deepEqual(changes.map((c) => `${c.type} ${c.instance.id}`).sort(), ['up api-1', 'up api-2'])
    })
    const first = view.instances().find((i) => i.id === 'api-1')
    assert.equal(first?.address, 'http://10.0.0.1:8080')
    assert.equal(typeof first?.metadata['pid'], 'number')

    // Longer than the TTL: the running processes keep their leases, so nothing goes down.
    await sleep(TTL * 1000 + 500)
    assert.equal(view.instances().length, 2)
    assert.equal(changes.length, 2)

    const killedAt = await one.kill()
    const down = await eventually('the killed instance goes down', () => {
      const c = changes.find((x) => x.type === 'down' && x.instance.id === 'api-1')
      assert.ok(c !== undefined, 'no change yet')
      return c
    }, { timeoutMs: 10_000 })
    // The lease lapses at most TTL after the last keepalive before the kill; then the leader's
    // next tick revokes it and the watch delivers the delete.
    assert.ok(down.at - killedAt <= TTL * 1000 + 1000, `gone ${down.at - killedAt} ms after the kill`)
    assert.deepEqual(view.instances().map((i) => i.id), ['api-2'])
    const fresh = await discovery.discover('api')
    assert.deepEqual(fresh.instances().map((i) => i.id), ['api-2'])
    fresh.close()

    const asked = Date.now()
    two.send('deregister')
    assert.equal(await two.exited, 0, two.output)
    await eventually('the deregistered instance goes down', () =>
      assert.ok(changes.some((c) => c.type === 'down' && c.instance.id === 'api-2'), 'api-2 not down yet'),
    )
    assert.ok(Date.now() - asked < TTL * 1000, 'deregister waited for the TTL')
    assert.deepEqual(view.instances(), [])
    view.close()
    await listening
  })
})
