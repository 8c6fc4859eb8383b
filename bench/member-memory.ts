/**
 * Issue #8: memory of edgecd members after loading keys. Starts a 3-member cluster (no gateway) on
 * free loopback ports in a temp dir, puts N distinct keys (256-byte values, like bench/lib/suite.ts's
 * loadKeys) through the leader with C requests in flight, waits for it to settle, and prints per
 * member: VmRSS, VmHWM (peak RSS), CPU seconds used during the load, and — when run with the probe — the breakdown written by
 * bench/mem-probe.mjs (V8 heap, external / arrayBuffers, sql.js WASM memory, smaps_rollup).
 *
 *   node --import tsx bench/member-memory.ts [--keys 100000] [--conns 64] [--settle 3000]
 *        [--entry workers/member.ts | dist/member.mjs] [--probe] [--node-flag=F]... [--env K=V]...
 *        [--json out.json] [--label text] [--hold ms] [--keep] [--etcd]
 *
 * `--etcd` runs the same load against a 3-member etcd (the `etcd` binary on the PATH) instead.
 * A `.ts` entry runs as `node --import tsx <entry>` (what `npm start` and the bench do); a `.js`
 * or `.mjs` entry runs with plain `node`. Every process is stopped by its PID.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { commandLine, usageCheck, UsageError, wholeNumber } from '../test/command-line.ts'
import { killOnExit } from '../test/kill-on-exit.ts'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { closeConnections, postJson } from './lib/http.ts'
import { putKeys } from './lib/suite.ts'
import { cpuSeconds, freePort, sleep } from './lib/system.ts'

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)))
const USAGE = `usage: node --import tsx bench/member-memory.ts [options]
  --keys 100000        keys put before measuring
  --conns 64           requests in flight
  --settle 3000        ms to wait after the load
  --entry FILE         workers/member.ts (default) or dist/member.mjs
  --probe              write the heap / WASM / smaps breakdown (bench/mem-probe.mjs)
  --node-flag=F        a node flag for the members (repeatable; F starts with -, hence the =)
  --env K=V            an environment variable for the members (repeatable)
  --json FILE          also write the figures as JSON
  --label TEXT         printed with the figures
  --hold MS            keep the cluster up this long after measuring
  --keep               keep the temp dir
  --etcd               measure a 3-member etcd instead`
const values = commandLine(USAGE, {
  keys: { type: 'string', default: '100000' },
  conns: { type: 'string', default: '64' },
  settle: { type: 'string', default: '3000' },
  entry: { type: 'string', default: 'workers/member.ts' },
  probe: { type: 'boolean', default: false },
  'node-flag': { type: 'string', multiple: true, default: [] },
  env: { type: 'string', multiple: true, default: [] },
  json: { type: 'string' },
  label: { type: 'string', default: '' },
  hold: { type: 'string', default: '0' },
  keep: { type: 'boolean', default: false },
  etcd: { type: 'boolean', default: false },
})
const [keys, conns, settleMs, holdMs] = usageCheck(USAGE, () =>
  (['keys', 'conns', 'settle', 'hold'] as const).map((name) => wholeNumber(name, values[name], name === 'conns' ? 1 : 0)),
)
const extraEnv = usageCheck(USAGE, () =>
  Object.fromEntries(
    values.env.map((kv) => {
      const eq = kv.indexOf('=')
      if (eq <= 0) throw new UsageError(`--env K=V, not ${kv}`)
      return [kv.slice(0, eq), kv.slice(eq + 1)]
    }),
  ),
)
const entry = resolve(ROOT, values.entry)
const probe = values.probe
const nodeFlags = values['node-flag']
const label = values.label
const jsonOut = values.json

const MiB = (b: number): string => (b / 2 ** 20).toFixed(1)

function status(pid: number, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? Number.NaN : Number(m[1]) * 1024
}

interface Probe {
  rss: number
  heapTotal: number
  heapUsed: number
  external: number
  arrayBuffers: number
  wasm: number
  peakWasm: number
  wasmResident: number
  smaps: Record<string, number>
  /** [used, size, physical] per V8 heap space */
  spaces: Record<string, number[]>
}

const dir = mkdtempSync(join(tmpdir(), 'edgecd-mem-'))
const etcd = values.etcd
const names = etcd ? ['e1', 'e2', 'e3'] : ['m1', 'm2', 'm3']
const ports: number[] = []
for (const _ of names) ports.push(await freePort())
const peerPorts: number[] = []
if (etcd) for (const _ of names) peerPorts.push(await freePort())
const urls = ports.map((p) => `http://127.0.0.1:${p}`)
const peerUrls = etcd ? peerPorts.map((p) => `http://127.0.0.1:${p}`) : urls
const initialCluster = names.map((n, i) => `${n}=${peerUrls[i]}`).join(',')
const children: ChildProcess[] = []
const ts = entry.endsWith('.ts')
for (const [i, name] of names.entries()) {
  const fd = openSync(join(dir, `${name}.log`), 'a')
  const common = [
    '--name', name,
    '--data-dir', join(dir, name),
    '--listen-client-urls', urls[i] as string,
    '--initial-cluster', initialCluster,
    '--initial-cluster-token', 'mem',
    '--initial-cluster-state', 'new',
    '--log-level', 'warn',
  ]
  // etcd 3.4 (Debian's etcd-server), the same flags bench/lib/clusters.ts gives it.
  const etcdArgs = [
    ...common,
    '--advertise-client-urls', urls[i] as string,
    '--listen-peer-urls', peerUrls[i] as string,
    '--initial-advertise-peer-urls', peerUrls[i] as string,
    '--logger', 'zap',
  ]
  const nodeArgs = [
    ...nodeFlags,
    ...(probe ? ['--import', join(ROOT, 'bench', 'mem-probe.mjs')] : []),
    ...(ts ? ['--import', 'tsx'] : []),
    entry,
    ...common,
  ]
  const child = spawn(etcd ? 'etcd' : process.execPath, etcd ? etcdArgs : nodeArgs, {
    cwd: ROOT,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, ...extraEnv, EDGECD_MEM_PROBE: join(dir, `${name}.probe.json`) },
  })
  closeSync(fd)
  children.push(killOnExit(child))
}
const stopAll = async (): Promise<void> => {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((r) => {
          if (c.exitCode !== null || c.signalCode !== null) return r()
          c.once('exit', () => r())
          process.kill(c.pid as number, 'SIGTERM')
          setTimeout(() => c.exitCode === null && c.signalCode === null && process.kill(c.pid as number, 'SIGKILL'), 10_000).unref()
        }),
    ),
  )
}

try {
  let leader = ''
  const deadline = Date.now() + 60_000
  while (leader === '' && Date.now() < deadline) {
    for (const u of urls) {
      const r = await postJson(`${u}/v3/maintenance/status`, '{}', 1000).catch(() => null)
      if (r?.status !== 200) continue
      const b = JSON.parse(r.body) as { leader?: string; header?: { member_id?: string } }
      if (b.leader !== undefined && b.leader !== '0' && b.leader === b.header?.member_id) leader = u
    }
    if (leader === '') await sleep(200)
  }
  if (leader === '') throw new Error(`no leader (logs in ${dir})`)
  const rssBefore = children.map((c) => status(c.pid as number, 'VmRSS'))
  const cpuBefore = children.map((c) => cpuSeconds(c.pid as number))
  const { seconds, errors, lost } = await putKeys(leader, keys, conns)
  if (lost > 0) throw new Error(`${lost} puts failed 5 times`)
  const cpu = children.map((c, i) => cpuSeconds(c.pid as number) - (cpuBefore[i] as number))
  await sleep(settleMs)
  const rows = children.map((c, i) => {
    const pid = c.pid as number
    const p = probe && !etcd ? (JSON.parse(readFileSync(join(dir, `${names[i]}.probe.json`), 'utf8')) as Probe) : null
    return {
      name: names[i],
      leader: urls[i] === leader,
      rssBefore: rssBefore[i] as number,
      rss: status(pid, 'VmRSS'),
      hwm: status(pid, 'VmHWM'),
      cpu: cpu[i] as number,
      probe: p,
    }
  })
  console.log(`${label} ${etcd ? 'etcd' : `entry=${entry.slice(ROOT.length + 1)}`} flags=[${nodeFlags.join(' ')}] env=${JSON.stringify(extraEnv)}`)
  console.log(`${keys} keys in ${seconds.toFixed(1)} s (${(keys / seconds).toFixed(0)}/s), ${errors} retries`)
  for (const r of rows) {
    let line = `${r.name}${r.leader ? '*' : ' '} RSS ${MiB(r.rssBefore)} → ${MiB(r.rss)} MiB, peak ${MiB(r.hwm)}, cpu ${r.cpu.toFixed(1)} s`
    const p = r.probe
    if (p !== null)
      line +=
        ` | heap used/total ${MiB(p.heapUsed)}/${MiB(p.heapTotal)} (new space ${MiB(p.spaces['new_space']?.[2] ?? 0)} resident) ext ${MiB(p.external)} (ab ${MiB(p.arrayBuffers)})` +
        ` wasm ${MiB(p.wasm)} (peak ${MiB(p.peakWasm)}, resident ${MiB(p.wasmResident)}) anon ${MiB(p.smaps['Anonymous'] ?? 0)} file ${MiB((p.smaps['Rss'] ?? 0) - (p.smaps['Anonymous'] ?? 0))}`
    console.log(line)
  }
  console.log(`pids ${children.map((c) => c.pid).join(' ')} dir ${dir}`)
  await sleep(holdMs)
  if (jsonOut !== undefined) writeFileSync(jsonOut, JSON.stringify({ label, entry, nodeFlags, extraEnv, keys, seconds, errors, rows }, null, 1))
} finally {
  await stopAll()
  if (!values.keep) rmSync(dir, { recursive: true, force: true })
  closeConnections()
}
