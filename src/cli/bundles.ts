/**
 * Members and the Node gateway run from prebundled files: workers/member.ts (workers/gateway-node.ts)
 * and the src/ modules it imports bundled by esbuild into one plain ES module, dist/member.mjs
 * (dist/gateway.mjs), started as `node <MEMBER_NODE_FLAGS> dist/member.mjs …` instead of
 * `node --import tsx workers/member.ts …`. The same code, with less memory and CPU. The gateway,
 * A/B on one cluster under wrk (64 connections, 8 s, alternating): puts 4,654 → 5,348 req/s and
 * 91 → 76 µs of its CPU per request, serializable gets 12,002 → 12,798 req/s (76 → 68 µs), RSS
 * 126-147 → 109-138 MiB (tsx's loader thread, and its keepNames wrappers on every function).
 * A member (issue #8, measured with bench/member-memory.ts):
 *
 * - no tsx: under `--import tsx` a member keeps tsx's module-loader thread (Node 20 runs loader
 *   hooks in a second V8 isolate) and its transpiler state for its whole life, ~20-35 MiB RSS;
 * - MEMBER_NODE_FLAGS: a member's live JS heap is small (15-25 MiB after 100k keys), but under
 *   load V8 grows the young generation to its default maximum (two 16 MiB semi-spaces), all of it
 *   resident. 4 MiB semi-spaces save ~20 MiB RSS per member at no measurable CPU cost; 2 MiB save
 *   a few MiB more but cost the leader up to ~30% more CPU (more scavenges, more promotion).
 *   With so small a heap, V8 also sets its old-generation limit low and runs a major collection
 *   often under load; `--initial-old-space-size` starts that limit higher. Since the database
 *   file lives in a resizable ArrayBuffer (storage/database-image.ts), V8 no longer counts it as
 *   external memory, and its growth no longer triggers collections: garbage then piles up to
 *   whatever limit is set. Loading 100k keys (3 runs each, RSS after the load, CPU of the load):
 *   no flag 140-158 MiB, leader 17.1-18.7 s, followers 7.0-7.6 s; 32 MiB 143-167 MiB, 13.9-15.4 s,
 *   5.5-6.3 s; 64 MiB 144-181 MiB, 12.6-15.7 s, 5.2-6.8 s. 32 MiB keeps a member at or under
 *   etcd's RSS (156-203 MiB in the same load) for a few % of CPU.
 * - MEMBER_ENV: glibc raises its mmap threshold (up to 32 MiB) each time a large block is freed,
 *   after which sql.js's file buffers, network frames and the like come from the brk heap and
 *   arenas, where freed memory stays resident. A fixed 128 KiB threshold (the default before any
 *   adjustment) keeps large blocks in mmap, returned to the OS when freed: ~10 MiB less per
 *   member, no measurable CPU cost. Other C libraries ignore the variable.
 *
 * A bundle keeps packages external (resolved from node_modules at run time, so sql.js finds its
 * .wasm next to itself) and is not minified (names and stack traces stay readable). `buildBundle`
 * takes ~50 ms and rewrites the file only when its content changes, through a temp file and a
 * rename, so concurrent builds never leave a half-written bundle; spawners call `memberCommand`
 * or `gatewayCommand`, which build first, so an edited source is never run stale. esbuild is
 * tsx's own dependency, so it is installed wherever tsx is.
 *
 * @module
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** This checkout. */
export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))

/** V8 flags for member processes (see the module doc). */
export const MEMBER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4', '--initial-old-space-size=32']

/** Environment variables for member processes, on top of the parent's (see the module doc). */
export const MEMBER_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' }

/** The processes that run from a bundle, by the name of their bundle. */
export type BundleName = 'member' | 'gateway'

const ENTRIES: Readonly<Record<BundleName, string>> = { member: 'member.ts', gateway: 'gateway-node.ts' }

/** Where `buildBundle` writes bundle `name` of checkout `root`: `<root>/dist/<name>.mjs`. */
export function bundlePath(name: BundleName, root: string = ROOT): string {
  return join(root, 'dist', `${name}.mjs`)
}

/**
 * Bundles the entry of `name` (`<root>/workers/member.ts` or `gateway-node.ts`) into `outfile`
 * (default `bundlePath(name, root)`, which must stay inside `root` so that its packages resolve
 * from `<root>/node_modules`). Resolves with its path.
 */
export async function buildBundle(name: BundleName, root: string = ROOT, outfile: string = bundlePath(name, root)): Promise<string> {
  const entry = ENTRIES[name]
  const { build } = await import('esbuild')
  const result = await build({
    absWorkingDir: root,
    entryPoints: [join(root, 'workers', entry)],
    bundle: true,
    write: false,
    outfile,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    minify: false,
    legalComments: 'none',
    logLevel: 'warning',
  })
  const file = result.outputFiles.find((f) => f.path === outfile)
  if (file === undefined) throw new Error(`esbuild produced no ${outfile}`)
  const text = `// Generated from workers/${entry} by src/cli/bundles.ts: do not edit.\n${file.text}`
  if (!existsSync(outfile) || readFileSync(outfile, 'utf8') !== text) {
    mkdirSync(dirname(outfile), { recursive: true })
    const tmp = `${outfile}.${process.pid}.tmp`
    writeFileSync(tmp, text)
    renameSync(tmp, outfile)
  }
  return outfile
}

/** How to start a process: `spawn(command, args, { env: { ...process.env, ...env } })`. */
export interface BundleCommand {
  readonly command: string
  readonly args: string[]
  /** Variables to add to the environment (MEMBER_ENV for a member). */
  readonly env: Record<string, string>
}

/**
 * The command line that starts a member of checkout `root` from its bundle (built first):
 * `node <MEMBER_NODE_FLAGS> <nodeFlags> <root>/dist/member.mjs <args>`, with MEMBER_ENV.
 */
export async function memberCommand(
  args: readonly string[],
  nodeFlags: readonly string[] = [],
  root: string = ROOT,
): Promise<BundleCommand> {
  const bundle = await buildBundle('member', root)
  return { command: process.execPath, args: [...MEMBER_NODE_FLAGS, ...nodeFlags, bundle, ...args], env: { ...MEMBER_ENV } }
}

/**
 * The command line that starts the Node gateway of checkout `root` from its bundle (built first):
 * `node <nodeFlags> <root>/dist/gateway.mjs <args>`.
 */
export async function gatewayCommand(args: readonly string[], nodeFlags: readonly string[] = [], root: string = ROOT): Promise<BundleCommand> {
  const bundle = await buildBundle('gateway', root)
  return { command: process.execPath, args: [...nodeFlags, bundle, ...args], env: {} }
}
