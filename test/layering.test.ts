/**
 * Enforces the module boundaries of design.md: which src/ folder may import which, that the
 * deterministic cores (raft, mvcc) use no clock, timer, randomness or node: module, and that the
 * member actor's files (which the simulator drives through its ports) use no clock, timer or
 * randomness of their own.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve, dirname, sep } from 'node:path'

const SRC = resolve('src')

/** folder → folders of ours it may import (itself is always allowed). */
export const ALLOWED: Record<string, readonly string[]> = {
  raft: [],
  mvcc: [],
  storage: ['raft', 'mvcc'],
  mesh: ['raft'],
  api: ['mvcc'],
  member: ['raft', 'mvcc', 'storage', 'mesh', 'api'],
  client: ['api', 'mvcc'],
  gateway: ['client', 'api', 'mvcc'],
  grpc: ['client', 'api', 'mvcc'],
  cli: ['client', 'api', 'mvcc', 'storage', 'member', 'raft'],
}

/** Third-party packages a pure folder may use. */
const PURE_PACKAGES: Record<string, readonly string[]> = {
  raft: [],
  mvcc: ['sql.js', '@msgpack/msgpack'],
}

const BANNED = [
  /Math\.random/,
  /Date\.now/,
  /new Date\(/,
  /performance\.now/,
  /\bsetTimeout\b/,
  /\bsetInterval\b/,
  /\bsetImmediate\b/,
  /\bqueueMicrotask\b/,
  /\bprocess\./,
  /\bcrypto\b/,
]

/** The member actor and what it runs on every tick: time and randomness come only through ports. */
export const ACTOR_FILES: readonly string[] = [
  'member/actor.ts',
  'member/duties.ts',
  'member/pending.ts',
  'member/auto-compactor.ts',
  'member/envelope.ts',
  'member/cluster-table.ts',
  'member/auth-store.ts',
  'member/auth-errors.ts',
]

/** The clocks, timers and randomness `source` uses outside comments. */
export function nondeterminism(source: string): string[] {
  const code = stripComments(source)
  return BANNED.filter((re) => re.test(code)).map((re) => re.source)
}

function files(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...files(p))
    else if (p.endsWith('.ts')) out.push(p)
  }
  return out
}

export function importsOf(source: string): string[] {
  const specs: string[] = []
  const re = /(?:^|\s)(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm
  for (const m of source.matchAll(re)) specs.push((m[1] ?? m[2] ?? m[3]) as string)
  return specs
}

/** Strips comments so that prose about Date.now in a doc comment does not count. */
export function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
}

export function violations(file: string, source: string): string[] {
  const rel = relative(SRC, file)
  const folder = rel.split(sep)[0] as string
  const allowed = ALLOWED[folder]
  const problems: string[] = []
  if (allowed === undefined) return [`${rel}: folder src/${folder} is not in the layering table`]
  for (const spec of importsOf(source)) {
    if (spec.startsWith('.')) {
      const target = relative(SRC, resolve(dirname(file), spec))
      const targetFolder = target.split(sep)[0] as string
      if (target.startsWith('..')) problems.push(`${rel}: imports ${spec} from outside src/`)
      else if (targetFolder !== folder && !allowed.includes(targetFolder))
        problems.push(`${rel}: src/${folder} may not import src/${targetFolder} (${spec})`)
    } else if (folder in PURE_PACKAGES) {
      const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string)
      if (!(PURE_PACKAGES[folder] as readonly string[]).includes(pkg))
        problems.push(`${rel}: the pure core src/${folder} may not import ${spec}`)
    }
  }
  if (folder in PURE_PACKAGES) for (const what of nondeterminism(source)) problems.push(`${rel}: uses ${what} in the pure core`)
  return problems
}

test('every src/ file imports only what its layer allows, and the pure cores use no clock, timer or randomness', () => {
  const problems = files(SRC).flatMap((f) => violations(f, readFileSync(f, 'utf8')))
  assert.deepEqual(problems, [])
})

test('the layering check itself catches a clock in raft, a node: import in mvcc, and an upward import', () => {
  const raftFile = join(SRC, 'raft', 'x.ts')
  assert.equal(violations(raftFile, 'const t = Date.now()').length, 1)
  assert.equal(violations(raftFile, "const r = Math.random()").length, 1)
  assert.equal(violations(raftFile, "import { x } from '../mvcc/kv.ts'").length, 1)
  assert.equal(violations(join(SRC, 'mvcc', 'x.ts'), "import fs from 'node:fs'").length, 1)
  assert.equal(violations(join(SRC, 'mvcc', 'x.ts'), "import initSqlJs from 'sql.js'").length, 0)
  assert.equal(violations(join(SRC, 'api', 'x.ts'), "import { m } from '../member/actor.ts'").length, 1)
  assert.equal(violations(join(SRC, 'member', 'x.ts'), "import { m } from '../raft/index.ts'").length, 0)
  assert.equal(violations(raftFile, '/** never Date.now() here */ const a = 1').length, 0)
})

test('the member actor and its tick duties use no clock, timer or randomness but their ports', () => {
  const problems = ACTOR_FILES.flatMap((f) =>
    nondeterminism(readFileSync(join(SRC, f), 'utf8')).map((what) => `${f}: uses ${what}`),
  )
  assert.deepEqual(problems, [])
  assert.deepEqual(nondeterminism('const deadline = Date.now() + 5'), ['Date\\.now'])
  assert.deepEqual(nondeterminism('setTimeout(() => tick(), 10)'), ['\\bsetTimeout\\b'])
  assert.deepEqual(nondeterminism('/** unlike setTimeout, the Clock port */ clock.after(10, tick)'), [])
})
