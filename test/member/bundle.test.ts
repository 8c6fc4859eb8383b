/**
 * src/cli/bundles.ts (and workers/build-bundles.ts): the prebundled member and gateway
 * (dist/member.mjs, dist/gateway.mjs, run with plain `node`, no tsx) are the same programs. Builds
 * bundles into files of their own under dist/, starts a one-member cluster from one with
 * MEMBER_NODE_FLAGS and MEMBER_ENV on a free port and a gateway in front of it from the other,
 * writes and reads a key over HTTP, checks that no tsx loader is involved, and stops both by PID
 * with SIGTERM (a clean exit, code 0).
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type SpawnOptions } from 'node:child_process'
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildBundle, bundlePath, gatewayCommand, MEMBER_ENV, MEMBER_NODE_FLAGS, memberCommand } from '../../src/cli/bundles.ts'
import { eventually, freePort } from '../e2e/cluster-harness.ts'
import { commandLine, isAlive } from '../proc-fs.ts'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))

/**
 * Starts `node <args>` with `options`, killed at the end of the test if still running (checked by
 * its command line naming `bundle`, so that a reused PID is left alone). No tsx may be involved.
 */
function startBundle(t: TestContext, bundle: string, args: readonly string[], options: SpawnOptions): { pid: number; exited: Promise<number | null> } {
  const child = spawn(process.execPath, args, options)
  const pid = child.pid as number
  t.after(() => {
    if (isAlive(pid) && commandLine(pid).includes(bundle)) process.kill(pid, 'SIGKILL')
  })
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  assert.doesNotMatch(commandLine(pid), /tsx/, `no tsx on the command line of ${bundle}`)
  return { pid, exited }
}

test('memberCommand: node, the member flags, the extra flags, the bundle, then the member arguments', async () => {
  const { command, args, env } = await memberCommand(['--name', 'x'], ['--cpu-prof'])
  assert.equal(command, process.execPath)
  assert.deepEqual(env, MEMBER_ENV)
  assert.deepEqual(args, [...MEMBER_NODE_FLAGS, '--cpu-prof', bundlePath('member'), '--name', 'x'])
  assert.ok(existsSync(bundlePath('member')), 'memberCommand builds the bundle')
})

test('gatewayCommand: node, the extra flags, the gateway bundle, then the gateway arguments', async () => {
  const { command, args, env } = await gatewayCommand(['--listen', '127.0.0.1:1'], ['--cpu-prof'])
  assert.deepEqual([command, args, env], [process.execPath, ['--cpu-prof', bundlePath('gateway'), '--listen', '127.0.0.1:1'], {}])
  assert.ok(existsSync(bundlePath('gateway')), 'gatewayCommand builds the bundle')
})

test('a member runs from the bundle with plain node and serves puts and ranges', { timeout: 60_000 }, async (t) => {
  const out = join(ROOT, 'dist', `member-test-${process.pid}.mjs`)
  const gatewayOut = join(ROOT, 'dist', `gateway-test-${process.pid}.mjs`)
  t.after(() => rmSync(gatewayOut, { force: true }))
  const dir = mkdtempSync(join(tmpdir(), 'edgecd-bundle-'))
  t.after(() => rmSync(out, { force: true }))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  assert.equal(await buildBundle('member', ROOT, out), out)
  assert.equal(await buildBundle('gateway', ROOT, gatewayOut), gatewayOut)
  for (const file of [out, gatewayOut]) assert.doesNotMatch(readFileSync(file, 'utf8'), /from ["']\.\.?\//, 'every relative import is bundled in')

  const url = `http://127.0.0.1:${await freePort()}`
  const log = join(dir, 'member.log')
  const fd = openSync(log, 'a')
  const { pid, exited } = startBundle(
    t,
    out,
    [...MEMBER_NODE_FLAGS, out, '--name', 'b1', '--data-dir', join(dir, 'b1'), '--listen-client-urls', url,
      '--heartbeat-interval', '50', '--election-timeout', '500', '--log-level', 'warn'],
    { cwd: tmpdir(), stdio: ['ignore', fd, fd], env: { ...process.env, ...MEMBER_ENV } },
  )
  closeSync(fd)

  const put = await eventually('the member accepts a put', async () => {
    assert.equal(isAlive(pid), true, `the member exited:\n${readFileSync(log, 'utf8')}`)
    const res = await fetch(`${url}/v3/kv/put`, {
      method: 'POST',
      body: JSON.stringify({ key: btoa('bundle/k'), value: btoa('v1') }),
      signal: AbortSignal.timeout(2000),
    })
    assert.equal(res.status, 200, `put: HTTP ${res.status}`)
    return (await res.json()) as { header?: { revision?: string } }
  }, { timeoutMs: 30_000, intervalMs: 100 })
  assert.ok(Number(put.header?.revision) >= 2, `revision after the put: ${JSON.stringify(put)}`)

  const res = await fetch(`${url}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: btoa('bundle/k') }) })
  const body = (await res.json()) as { kvs?: { value?: string }[] }
  assert.equal(res.status, 200)
  assert.equal(atob(body.kvs?.[0]?.value ?? ''), 'v1')

  // The gateway from its bundle, in front of that member.
  const gatewayUrl = `http://127.0.0.1:${await freePort()}`
  const gateway = startBundle(t, gatewayOut, [gatewayOut, '--listen', gatewayUrl.slice('http://'.length), '--endpoints', url], {
    cwd: tmpdir(),
    stdio: 'ignore',
  })
  const through = await eventually('the gateway serves a range', async () => {
    const r = await fetch(`${gatewayUrl}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: btoa('bundle/k') }), signal: AbortSignal.timeout(2000) })
    assert.equal(r.status, 200)
    return (await r.json()) as { kvs?: { value?: string }[] }
  }, { timeoutMs: 30_000, intervalMs: 100 })
  assert.equal(atob(through.kvs?.[0]?.value ?? ''), 'v1')

  process.kill(gateway.pid, 'SIGTERM')
  assert.equal(await gateway.exited, 0, 'the gateway exits cleanly on SIGTERM')
  process.kill(pid, 'SIGTERM')
  assert.equal(await exited, 0, `exit code after SIGTERM:\n${readFileSync(log, 'utf8')}`)
})
