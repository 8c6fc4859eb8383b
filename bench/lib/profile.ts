/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`): self time per function and per file, and
 * inclusive (total) time per function, as shares of the busy (non-idle) time, top entries first.
 *
 *   node --import tsx bench/lib/profile.ts FILE.cpuprofile [N]
 *
 * @module
 */
import { readFileSync } from 'node:fs'

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}

interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: readonly number[]
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

export interface SelfTime {
  readonly name: string
  readonly ms: number
  /** Share of the busy (non-idle) time. */
  readonly share: number
}

export interface ProfileSummary {
  readonly totalMs: number
  readonly busyMs: number
  readonly functions: SelfTime[]
  readonly files: SelfTime[]
  readonly inclusive: SelfTime[]
}

function shortUrl(url: string): string {
  const i = url.indexOf('/work/main/')
  let u = i >= 0 ? url.slice(i + 11) : url.replace(/^file:\/\//, '')
  const nm = u.lastIndexOf('node_modules/')
  if (nm >= 0) u = u.slice(nm + 13)
  return u === '' ? '(native)' : u
}

function label(cf: CallFrame): string {
  const file = shortUrl(cf.url)
  return `${cf.functionName === '' ? '(anonymous)' : cf.functionName} ${file}${cf.url === '' ? '' : `:${cf.lineNumber + 1}`}`
}

export function summarizeProfile(file: string): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const perFn = new Map<string, number>()
  const perFile = new Map<string, number>()
  const incl = new Map<string, number>()
  let total = 0
  let idle = 0
  p.samples.forEach((id, i) => {
    const dt = (p.timeDeltas[i] ?? 0) / 1000
    const node = byId.get(id)
    if (node === undefined) return
    total += dt
    if (node.callFrame.functionName === '(idle)') {
      idle += dt
      return
    }
    const fn = label(node.callFrame)
    perFn.set(fn, (perFn.get(fn) ?? 0) + dt)
    const f = shortUrl(node.callFrame.url)
    perFile.set(f, (perFile.get(f) ?? 0) + dt)
    const seen = new Set<string>()
    for (let at: number | undefined = id, d = 0; at !== undefined && d < 500; at = parent.get(at), d++) {
      const n = byId.get(at)
      if (n === undefined) break
      const name = label(n.callFrame)
      if (seen.has(name)) continue
      seen.add(name)
      incl.set(name, (incl.get(name) ?? 0) + dt)
    }
  })
  const busy = total - idle
  const top = (m: Map<string, number>): SelfTime[] =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).map(([name, ms]) => ({ name, ms, share: ms / busy }))
  return { totalMs: total, busyMs: busy, functions: top(perFn), files: top(perFile), inclusive: top(incl) }
}

export function renderProfile(file: string, topN = 30): string {
  const s = summarizeProfile(file)
  const line = (t: SelfTime): string => `${(t.share * 100).toFixed(1).padStart(5)} %  ${t.ms.toFixed(0).padStart(7)} ms  ${t.name}`
  const boring = /^\((root|program)\)|^(anonymous) \(native\)$/
  return [
    `profile ${file}: ${s.totalMs.toFixed(0)} ms sampled, ${s.busyMs.toFixed(0)} ms busy (shares below are of busy time)`,
    'self time by function:',
    ...s.functions.slice(0, topN).map(line),
    'self time by file:',
    ...s.files.slice(0, 25).map(line),
    'inclusive time by function:',
    ...s.inclusive.filter((t) => !boring.test(t.name)).slice(0, topN).map(line),
  ].join('\n')
}

if (process.argv[1] !== undefined && /bench\/lib\/profile\.ts$/.test(process.argv[1])) {
  const [file, n] = process.argv.slice(2)
  if (file !== undefined) console.log(renderProfile(file, n === undefined ? 30 : Number(n)))
}
