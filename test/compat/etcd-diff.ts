/**
 * Differential check against a real etcd: starts a single-member etcd (Debian's `etcd-server`)
 * and a single edgecd member on free loopback ports, sends both the same seeded random request
 * sequence (requests.ts) and compares status and body of every answer. Exits 1 when any differ.
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
import { render, same, type Answer, type Leases } from './compare-answers.ts'
import { generateRequest } from './requests.ts'

const ROOT = resolve(import.meta.dirname, '../..')

interface System extends Leases {
  readonly name: string
  readonly url: string
  readonly child: ChildProcess
}

async function post(url: string, path: string, body: string): Promise<Answer> {
  const res = await fetch(url + path, { method: 'POST', body })
  const text = await res.text()
  let json: unknown = null
  try {
    json = JSON.parse(text)
  } catch {
    // Not JSON (e.g. a text/plain error): compared as text.
  }
  return { status: res.status, text, json }
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
    const rng = new Rng(seed)
    let differences = 0
    for (let i = 0; i < requests; i++) {
      const req = generateRequest(rng)
      const answers: Answer[] = []
      for (const system of systems) {
        const answer = await post(system.url, req.path, render(req, system))
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
      console.log(`seed ${seed} #${i} ${req.path} ${render(req, systems[0])}`)
      console.log(`  etcd   ${a.status} ${a.text.trim().slice(0, 500)}`)
      console.log(`  edgecd ${b.status} ${b.text.trim().slice(0, 500)}`)
    }
    console.log(`seed ${seed}: ${differences} differences in ${requests} requests`)
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
