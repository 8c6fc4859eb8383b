/**
 * workers/gateway-node.ts as a process: flags, the startup line, serving through it, a clean exit
 * on SIGTERM, and exit 2 with a message naming the bad setting.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { b64, FakeCluster } from './fake-cluster.ts'
import { post } from './serve-gateway.ts'

function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'workers/gateway-node.ts', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  })
}

async function firstLine(child: ChildProcess): Promise<string> {
  let out = ''
  for await (const chunk of child.stdout!) {
    out += String(chunk)
    if (out.includes('\n')) return out.slice(0, out.indexOf('\n'))
  }
  return out
}

describe('gateway-node entry point', { timeout: 30_000 }, () => {
  let cluster: FakeCluster

  before(async () => {
    cluster = await FakeCluster.start(3)
  })
  after(async () => {
    await cluster.close()
  })

  test('serves the cluster on --listen with --endpoints, and exits 0 on SIGTERM', async () => {
    const child = start(['--listen', '127.0.0.1:0', '--endpoints', cluster.urls.join(',')])
    try {
      const line = await firstLine(child)
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1]
      assert.ok(url !== undefined, line)
      assert.ok(line.includes(cluster.urls[0]!), 'the startup line names the members')
      assert.equal((await fetch(`${url}/health`)).status, 200)
      assert.equal((await post(`${url}/v3/kv/put`, { key: b64('n'), value: b64('v') })).status, 200)
      assert.deepEqual(cluster.hits('/v3/kv/put'), [1, 0, 0])
      child.kill('SIGTERM')
      const [code] = await once(child, 'exit')
      assert.equal(code, 0)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  })

  test('EDGECD_ENDPOINTS and EDGECD_LISTEN stand in for the flags; a bad one exits 2 naming it', async () => {
    const child = start([], { EDGECD_ENDPOINTS: cluster.urls.join(','), EDGECD_LISTEN: '127.0.0.1:0' })
    try {
      assert.match(await firstLine(child), /listening on http:\/\/127\.0\.0\.1:\d+/)
      child.kill('SIGINT')
      assert.deepEqual(await once(child, 'exit'), [0, null])
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
    const bad = start(['--listen', '127.0.0.1:0'], { EDGECD_ENDPOINTS: '' })
    let err = ''
    bad.stderr!.on('data', (c) => (err += String(c)))
    const [code] = await once(bad, 'exit')
    assert.equal(code, 2)
    assert.match(err, /EDGECD_ENDPOINTS/)
  })
})
