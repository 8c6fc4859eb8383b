/**
 * workers/gateway-node.ts as a process: flags, the startup line, serving through it, a clean exit
 * on SIGTERM, and exit 2 with a message naming the bad setting. With `--processes N`: N worker
 * processes share the port, a dead one is replaced, and none outlives the gateway
 * (src/gateway/node-processes.ts).
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { childrenOf, isAlive } from '../proc-fs.ts'
import { b64, FakeCluster } from './fake-cluster.ts'
import { post } from './serve-gateway.ts'

function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'workers/gateway-node.ts', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  })
}

/** Resolves once `check` holds, polling; rejects after `ms`. */
async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await sleep(50)
  }
}

/** The stderr of a child that is expected to exit, and its exit code. */
async function failure(child: ChildProcess): Promise<{ code: number | null; err: string }> {
  let err = ''
  child.stderr!.on('data', (c) => (err += String(c)))
  const [code] = await once(child, 'exit')
  return { code: code as number | null, err }
}

/** The first line the child prints; its stdout is read on (a closed pipe would fail its later lines). */
function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    let out = ''
    child.stdout!.on('data', (chunk) => {
      out += String(chunk)
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')))
    })
    child.stdout!.once('end', () => resolve(out))
  })
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

  test('an IPv6 --listen address is served, and named bracketed', async () => {
    const child = start(['--listen', '[::1]:0', '--endpoints', cluster.urls.join(',')])
    try {
      const url = /listening on (http:\/\/\[::1\]:\d+) /.exec(await firstLine(child))?.[1]
      assert.ok(url !== undefined)
      assert.equal((await fetch(`${url}/health`)).status, 200)
    } finally {
      child.kill('SIGKILL')
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

  test('--processes 2: two workers serve the port, a killed one is replaced, SIGTERM stops them all', async () => {
    const child = start(['--listen', '127.0.0.1:0', '--endpoints', cluster.urls.join(','), '--processes', '2'])
    const pid = child.pid as number
    try {
      const line = await firstLine(child)
      assert.match(line, /, 2 processes$/)
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1] as string
      const workers = childrenOf(pid)
      assert.equal(workers.length, 2, `the primary's children: ${workers.join(' ')}`)
      // Each connection (undici opens several for concurrent requests) is served by one of them.
      const before = cluster.hits('/v3/kv/put')[0] ?? 0
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => post(`${url}/v3/kv/put`, { key: b64(`p${i}`), value: b64('v') })))
      assert.deepEqual(answers.map((a) => a.status), Array<number>(20).fill(200))
      assert.equal((cluster.hits('/v3/kv/put')[0] ?? 0) - before, 20)

      process.kill(workers[0] as number, 'SIGKILL')
      await until('a new worker replaces the killed one', () => {
        const now = childrenOf(pid)
        return now.length === 2 && !now.includes(workers[0] as number)
      })
      for (let i = 0; i < 5; i++) assert.equal((await fetch(`${url}/health`)).status, 200)

      const last = childrenOf(pid)
      child.kill('SIGTERM')
      const [code] = await once(child, 'exit')
      assert.equal(code, 0)
      await until('every worker has exited', () => last.every((w) => !isAlive(w)))
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  })

  test('--processes: the workers end when their primary is killed with SIGKILL', async () => {
    const child = start(['--listen', '127.0.0.1:0', '--endpoints', cluster.urls.join(','), '--processes', '2'])
    const pid = child.pid as number
    await firstLine(child)
    const workers = childrenOf(pid)
    assert.equal(workers.length, 2)
    child.kill('SIGKILL')
    await once(child, 'exit')
    try {
      await until('the orphaned workers have exited', () => workers.every((w) => !isAlive(w)))
    } finally {
      for (const w of workers) if (isAlive(w)) process.kill(w, 'SIGKILL')
    }
  })

  test('--processes: workers that cannot listen (the port is taken) stop the gateway with exit 1', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    try {
      const port = (taken.address() as { port: number }).port
      const child = start(['--listen', `127.0.0.1:${port}`, '--endpoints', cluster.urls.join(','), '--processes', '2'])
      const said = firstLine(child)
      const { code, err } = await failure(child)
      assert.equal(code, 1, err)
      assert.match(await said, /exited \(code 1\) before it listened; stopping/)
      assert.match(err, /EADDRINUSE/)
    } finally {
      taken.close()
    }
  })

  test('a process count that is not 1 to 64 exits 2 naming EDGECD_PROCESSES', async () => {
    for (const [args, env] of [
      [['--processes', '0'], {}],
      [['--processes', 'two'], {}],
      [[], { EDGECD_PROCESSES: '65' }],
    ] as Array<[string[], Record<string, string>]>) {
      const { code, err } = await failure(start(['--listen', '127.0.0.1:0', '--endpoints', cluster.urls.join(','), ...args], env))
      assert.equal(code, 2, `${args.join(' ')} ${JSON.stringify(env)}`)
      assert.match(err, /EDGECD_PROCESSES/)
    }
  })
})
