/**
 * Differential check against a real etcd: starts a single-member etcd (Debian's `etcd-server`)
 * and a single edgecd member on free loopback ports, sends both the same seeded random request
 * sequence (requests.ts) and compares status and body of every answer, and the events of watches
 * open meanwhile (watch-recorder.ts). Exits 1 when any differ.
 *
 *   node --import tsx test/compat/etcd-diff.ts [--seeds 3] [--from 1] [--requests 400] [--etcd etcd]
 *
 * What may legitimately differ is normalized away (compare-answers.ts). A seed replays its request
 * sequence exactly; both systems start empty for each seed.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { Rng } from '../chaos/prng.ts'
import { freePort } from '../free-ports.ts'
import { COMPARED_HEADERS, normalize, render, same, type Answer, type Leases } from './compare-answers.ts'
import { generateRequest, generateWatch } from './requests.ts'
import { WatchRecorder } from './watch-recorder.ts'

const ROOT = resolve(import.meta.dirname, '../..')
/** Watches per seed open for the whole request sequence (three more from old revisions at the end). */
const WATCHES = 4

interface System extends Leases {
  readonly name: string
  readonly url: string
  readonly child: ChildProcess
}

async function post(url: string, path: string, body: string, method = 'POST'): Promise<Answer> {
  const res = await fetch(url + path, { method, ...(method === 'GET' ? {} : { body }) })
  const text = await res.text()
  const headers = Object.fromEntries(COMPARED_HEADERS.flatMap((name) => {
    const value = res.headers.get(name)
    return value === null ? [] : [[name, value]]
  }))
  let json: unknown = null
  try {
    json = JSON.parse(text)
  } catch {
    // Not JSON (e.g. a text/plain error): compared as text.
  }
  return { status: res.status, headers, text, json }
}

async function ready(system: System): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (system.child.exitCode !== null) throw new Error(`${system.name} exited with code ${system.child.exitCode}`)
    const ok = await post(system.url, '/v3/kv/range', '{"key":"AA=="}').then((a) => a.status === 200, () => false)
    if (ok) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${system.name} did not answer within 30 s`)
}

async function startEtcd(binary: string, dir: string): Promise<System> {
  const [client, peer] = [await freePort(), await freePort()]
  const url = `http://127.0.0.1:${client}`
  const peerUrl = `http://127.0.0.1:${peer}`
  const child = spawn(binary, [
    '--data-dir', join(dir, 'etcd'), '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl, '--initial-cluster', `default=${peerUrl}`,
    '--log-level', 'error',
  ], { stdio: 'ignore' })
  return { name: 'etcd', url, child, leases: [], rawLeases: new Set() }
}

async function startEdgecd(dir: string): Promise<System> {
  const url = `http://127.0.0.1:${await freePort()}`
  const child = spawn(process.execPath, [
    '--import', 'tsx', 'workers/member.ts', '--name', 'm1', '--data-dir', join(dir, 'edgecd'),
    '--listen-client-urls', url, '--log-level', 'error',
  ], { cwd: ROOT, stdio: ['pipe', 'ignore', 'inherit'], env: { ...process.env, EDGECD_EXIT_WITH_PARENT: '1' } })
  return { name: 'edgecd', url, child, leases: [], rawLeases: new Set() }
}

function stop(system: System): Promise<void> {
  if (system.child.exitCode !== null || system.child.signalCode !== null) return Promise.resolve()
  return new Promise((res) => {
    system.child.once('exit', () => res())
    system.child.kill()
  })
}

async function runSeed(seed: number, requests: number, etcdBinary: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'edgecd-diff-'))
  const systems = [await startEtcd(etcdBinary, dir), await startEdgecd(dir)] as const
  try {
    await Promise.all(systems.map(ready))
    // Watches opened first see every event of the run (drawn apart, so the requests stay the same).
    const watchRng = new Rng(seed ^ 0x5bd1e995)
    const creates = Array.from({ length: WATCHES }, () => generateWatch(watchRng))
    const watches = systems.map((system) => creates.map((create) => new WatchRecorder(system.url, create)))
    await Promise.all(watches.flat().map((w) => w.opened))
    // etcd moves a watch from a past revision to its synced group within 100 ms; before that a
    // compaction past its start cancels it (edgecd replays at once, so such a watch never is).
    await new Promise((r) => setTimeout(r, 300))
    const rng = new Rng(seed)
    let differences = 0
    for (let i = 0; i < requests; i++) {
      const req = generateRequest(rng, i)
      const answers: Answer[] = []
      for (const system of systems) {
        const answer = await post(system.url, req.path, render(req, system), req.method)
        answers.push(answer)
        const id = (answer.json as { ID?: unknown } | null)?.ID
        if (req.path === '/v3/lease/grant' && typeof id === 'string') {
          if (req.raw === undefined) system.leases.push(id)
          else system.rawLeases.add(id)
        }
      }
      const [a, b] = answers as [Answer, Answer]
      if (same(a, b, systems[0], systems[1])) continue
      differences++
      console.log(`seed ${seed} #${i} ${req.method ?? 'POST'} ${req.path} ${render(req, systems[0])}`)
      console.log(`  etcd   ${a.status} ${JSON.stringify(a.headers)} ${a.text.trim().slice(0, 500)}`)
      console.log(`  edgecd ${b.status} ${JSON.stringify(b.headers)} ${b.text.trim().slice(0, 500)}`)
    }
    // Watches from old revisions replay the history, or are canceled where it was compacted.
    for (const start of [1, 10, 40]) {
      const create = { key: 'AA==', range_end: 'AA==', start_revision: start, ...(watchRng.chance(0.5) ? { prev_kv: true } : {}) }
      creates.push(create)
      for (const [i, system] of systems.entries()) watches[i]?.push(new WatchRecorder(system.url, create))
    }
    await new Promise((r) => setTimeout(r, 500))
    const [etcdEvents, edgeEvents] = await Promise.all(watches.map((ws) => Promise.all(ws.map((w) => w.stop()))))
    for (let w = 0; w < creates.length; w++) {
      const a = normalize(etcdEvents?.[w] ?? [], systems[0]).body
      const b = normalize(edgeEvents?.[w] ?? [], systems[1]).body
      if (a === b) continue
      differences++
      const at = [...a].findIndex((ch, i) => ch !== b[i])
      console.log(`seed ${seed} watch ${JSON.stringify(creates[w])}: streams differ from character ${at}`)
      console.log(`  etcd   …${a.slice(Math.max(0, at - 200), at + 300)}`)
      console.log(`  edgecd …${b.slice(Math.max(0, at - 200), at + 300)}`)
    }
    console.log(`seed ${seed}: ${differences} differences in ${requests} requests and ${creates.length} watches`)
    return differences
  } finally {
    await Promise.all(systems.map(stop))
    rmSync(dir, { recursive: true, force: true })
  }
}

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '3' },
    from: { type: 'string', default: '1' },
    requests: { type: 'string', default: '400' },
    etcd: { type: 'string', default: 'etcd' },
  },
})
const from = Number(values.from)
let total = 0
for (let seed = from; seed < from + Number(values.seeds); seed++) total += await runSeed(seed, Number(values.requests), values.etcd)
console.log(`${total} differences from etcd in all`)
process.exit(total === 0 ? 0 : 1)
