/**
 * `edgecd up` (src/cli/up.ts) as its own process, on free ports with a temp data dir: a member
 * killed with SIGKILL is logged and the others keep serving (two members and the gateway take
 * writes, the launcher keeps running); SIGTERM to the launcher stops it with code 0 and leaves none
 * of its children behind; and once its only member has exited, the launcher stops the gateway and
 * exits with code 1. Children are found in /proc (Linux) and checked by PID.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { eventually } from '../e2e/cluster-harness.ts'
import { freeConsecutivePorts } from '../free-ports.ts'
import { childrenOf, commandLine, isAlive } from '../proc-fs.ts'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const BIN = resolve(ROOT, 'bin', 'edgecd.js')

interface Launcher {
  readonly child: ChildProcess
  readonly gatewayUrl: string
  readonly memberUrls: readonly string[]
  /** Everything it printed so far. */
  output(): string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Starts `edgecd up` with `size` members; the test's end kills whatever of it is left, by PID. */
async function launch(t: TestContext, size: number): Promise<Launcher> {
  const dir = mkdtempSync(join(tmpdir(), 'edgecd-up-'))
  const base = await freeConsecutivePorts(size + 1)
  const child = spawn(
    process.execPath,
    [
      BIN, 'up', '--size', String(size), '--gateway-port', String(base), '--member-base-port', String(base + 1),
      '--data-dir', dir, '--token', `up-${base}`, '--host', '127.0.0.1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout?.on('data', (b: Buffer) => (output += b.toString('utf8')))
  child.stderr?.on('data', (b: Buffer) => (output += b.toString('utf8')))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => res({ code, signal })),
  )
  const started = new Set<number>()
  t.after(async () => {
    // A PID logged earlier is still ours while it runs one of our entry points (workers/…).
    for (const pid of started) if (isAlive(pid) && commandLine(pid).includes('/workers/')) process.kill(pid, 'SIGKILL')
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL')
    await exited
    rmSync(dir, { recursive: true, force: true })
  })
  const launcher: Launcher = {
    child,
    gatewayUrl: `http://127.0.0.1:${base}`,
    memberUrls: Array.from({ length: size }, (_, i) => `http://127.0.0.1:${base + 1 + i}`),
    output: () => output,
    exited,
  }
  await eventually('the launcher prints that the cluster is up', () => {
    for (const pid of [...output.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]))) started.add(pid)
    assert.equal(child.exitCode, null, `the launcher exited:\n${output}`)
    assert.match(output, /edgecd is up:/, 'no "edgecd is up" line yet')
  }, { timeoutMs: 60_000 })
  return launcher
}

/** The PID `up` logged for a member (`m1`…) or for `gateway`. */
function loggedPid(output: string, name: string): number {
  const m = (name === 'gateway' ? /starting the gateway \(pid (\d+)\)/ : new RegExp(`member ${name} \\(pid (\\d+)\\)`)).exec(output)
  assert.ok(m !== null, `no PID logged for ${name}:\n${output}`)
  return Number(m[1])
}

async function put(base: string, key: string, value: string): Promise<void> {
  const res = await fetch(`${base}/v3/kv/put`, {
    method: 'POST',
    body: JSON.stringify({ key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') }),
    signal: AbortSignal.timeout(3000),
  })
  assert.equal(res.status, 200, `put ${key} via ${base}: ${res.status} ${await res.text()}`)
}

async function get(base: string, key: string): Promise<string | null> {
  const res = await fetch(`${base}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({ key: Buffer.from(key).toString('base64') }),
    signal: AbortSignal.timeout(3000),
  })
  assert.equal(res.status, 200, `get ${key} via ${base}: ${res.status}`)
  const body = (await res.json()) as { kvs?: { value?: string }[] }
  const kv = body.kvs?.[0]
  return kv === undefined ? null : Buffer.from(kv.value ?? '', 'base64').toString('utf8')
}

test('a member killed with SIGKILL leaves the others serving; SIGTERM stops the launcher and every child', { timeout: 120_000 }, async (t) => {
  const up = await launch(t, 3)
  const launcherPid = up.child.pid as number
  // Its children: the members and the gateway it logged, and whatever else runs under it (tsx's esbuild).
  const children = childrenOf(launcherPid)
  for (const name of ['m1', 'm2', 'm3', 'gateway'])
    assert.ok(children.includes(loggedPid(up.output(), name)), `${name} is not a child of the launcher`)

  const victim = loggedPid(up.output(), 'm2')
  process.kill(victim, 'SIGKILL')
  await eventually('m2 is gone', () => assert.equal(isAlive(victim), false, 'm2 still alive'), { timeoutMs: 10_000 })
  await eventually('the launcher logs the exit', () => {
    assert.match(up.output(), new RegExp(`member m2 \\(pid ${victim}\\) exited \\(killed by SIGKILL\\); 2 of 3 members left`), 'no exit line yet')
  }, { timeoutMs: 10_000 })

  const left = [up.memberUrls[0] as string, up.memberUrls[2] as string]
  for (const [i, url] of [up.gatewayUrl, ...left].entries())
    await eventually(`a write via ${url}`, () => put(url, `after-kill/${i}`, `v${i}`), { timeoutMs: 20_000 })
  for (const url of left)
    for (let i = 0; i < 3; i++)
      assert.equal(await get(url, `after-kill/${i}`), `v${i}`, `after-kill/${i} via ${url}`)
  assert.equal(up.child.exitCode, null, `the launcher exited:\n${up.output()}`)
  assert.equal(up.child.signalCode, null, 'the launcher was killed')
  assert.deepEqual(childrenOf(launcherPid), children.filter((p) => p !== victim), 'the other children still run')

  process.kill(launcherPid, 'SIGTERM')
  const { code } = await up.exited
  assert.equal(code, 0, `the launcher's exit code after SIGTERM:\n${up.output()}`)
  await eventually('every child of the launcher is gone', () => {
    for (const pid of children) assert.equal(isAlive(pid), false, `child ${pid} outlived the launcher`)
  }, { timeoutMs: 10_000 })
})

test('when its only member exits, the launcher stops the gateway and exits 1', { timeout: 120_000 }, async (t) => {
  const up = await launch(t, 1)
  const member = loggedPid(up.output(), 'm1')
  const gateway = loggedPid(up.output(), 'gateway')
  process.kill(member, 'SIGKILL')
  const { code } = await up.exited
  assert.equal(code, 1, `the launcher's exit code:\n${up.output()}`)
  assert.match(up.output(), /member m1 \(pid \d+\) exited \(killed by SIGKILL\); no member left; stopping the cluster/)
  assert.equal(isAlive(gateway), false, 'the gateway outlived the launcher')
})

test('npm start runs the launcher in place of its shell, so SIGTERM to npm reaches it', async () => {
  // npm runs a script as `sh -c <script>` and passes a SIGTERM on to that shell only; Debian's sh
  // (dash) does not pass it on, so without `exec` the launcher and the cluster outlived `npm start`.
  const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  const start = pkg.scripts['start'] as string
  assert.ok(start.includes('workers/up.ts'), start)
  const script = start.replace('workers/up.ts', '-e "console.log(process.pid)"').replace('--import tsx ', '')
  const sh = spawn('sh', ['-c', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  sh.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')))
  await new Promise((res) => sh.once('close', res))
  assert.equal(Number(out.trim()), sh.pid, `the script's process is ${out.trim()}, npm's child is ${sh.pid}`)
})

test("npm start takes edgecd up's flags: --help prints them and starts nothing, a bad flag is refused", async () => {
  const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  const script = (pkg.scripts['start'] as string).replace(/^exec /, '')
  const runStart = async (flags: string): Promise<{ code: number | null; out: string }> => {
    const sh = spawn('sh', ['-c', `${script} ${flags}`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    sh.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')))
    sh.stderr.on('data', (b: Buffer) => (out += b.toString('utf8')))
    const code = await new Promise<number | null>((res) => sh.once('close', res))
    return { code, out }
  }
  const help = await runStart('--help')
  assert.equal(help.code, 0, help.out)
  assert.match(help.out, /Usage: edgecd up/)
  assert.match(help.out, /--gateway-port <port>/)
  assert.doesNotMatch(help.out, /starting member/)
  const bad = await runStart('--size 0')
  assert.equal(bad.code, 1, bad.out)
  assert.match(bad.out, /cluster size must be 1 to 9, got 0/)
  assert.doesNotMatch(bad.out, /starting member/)
  assert.match(help.out, /--gateway-processes <n>/)
  const none = await runStart('--gateway-processes 0')
  assert.equal(none.code, 1, none.out)
  assert.match(none.out, /gateway processes must be a positive integer, got 0/)
  assert.doesNotMatch(none.out, /starting member/)
})
