/**
 * The simulator's command line (`npm run sim -- …`), VOPR style.
 *
 *   --seed 0x1234        run one scenario; prints SEED=…, every drawn option, then the result
 *   --seeds 2000         run a swarm of scenarios whose seeds derive from a printed base seed
 *   --from 0xBASE        the swarm's base seed (default: drawn at random and printed)
 *   --driver raft|member the nodes: bare RawNodes (default, fast) or the production member
 *                        actor with MVCC and storage (see member-node.ts)
 *   --trace              print the trace of every message, Ready and fault (single seed only)
 *   --unsafe KNOB        run a deliberately broken Raft (commitPreviousTermByCount |
 *                        skipUpToDateCheck) or, with --driver member, member (ackBeforeFsync)
 *
 * With neither --seed nor --seeds, one scenario with a random seed runs. Exit code 1 on any
 * violation, 2 on a bad command line. The wall clock is read only here, for the seeds/second figure.
 *
 * @module
 */
import { randomInt } from 'node:crypto'
import { commandLine, usageCheck, UsageError } from '../command-line.ts'
import { DRIVERS, describeOptions, unsafeKnobs, type Driver, type UnsafeKnob } from './options.ts'
import { formatSeed, parseSeed } from './prng.ts'
import { replayCommand, swarmSeeds } from './replay.ts'
import { hashString, hex32 } from './hash.ts'
import type { Violation } from './checker.ts'
import { runScenario, scenarioOptions, type ScenarioResult } from './simulator.ts'

interface Args {
  seed: number | null
  seeds: number | null
  from: number | null
  trace: boolean
  unsafe: UnsafeKnob | null
  driver: Driver
}

const USAGE = `usage: npm run sim -- [options]
  --seed 0x1234        run one scenario
  --seeds N            run a swarm of N scenarios from a base seed
  --from 0xBASE        the swarm's base seed (default: random, printed)
  --driver ${DRIVERS.join('|')}
  --trace              print every message, Ready and fault (single seed only)
  --unsafe KNOB        a deliberately broken Raft or member (see the module comment)
  --help               this text`

/** The parsed command line (exits 2 on a bad one, 0 after --help). */
function parseArgs(argv: readonly string[]): Args {
  const values = commandLine(USAGE, {
    seed: { type: 'string' },
    seeds: { type: 'string' },
    from: { type: 'string' },
    trace: { type: 'boolean' },
    unsafe: { type: 'string' },
    driver: { type: 'string' },
  }, argv)
  return usageCheck(USAGE, () => {
    const driver = values.driver ?? 'raft'
    if (!(DRIVERS as readonly string[]).includes(driver)) throw new UsageError(`--driver ${DRIVERS.join('|')}`)
    const seed = (text: string): number => {
      try {
        return parseSeed(text)
      } catch (err) {
        throw new UsageError((err as Error).message)
      }
    }
    const args: Args = {
      seed: values.seed === undefined ? null : seed(values.seed),
      seeds: values.seeds === undefined ? null : Number(values.seeds),
      from: values.from === undefined ? null : seed(values.from),
      trace: values.trace === true,
      unsafe: null,
      driver: driver as Driver,
    }
    if (values.unsafe !== undefined) {
      const knobs = unsafeKnobs(args.driver)
      if (!(knobs as readonly string[]).includes(values.unsafe))
        throw new UsageError(`--driver ${args.driver} --unsafe ${knobs.join('|')}`)
      args.unsafe = values.unsafe as UnsafeKnob
    }
    if (args.seeds !== null && (!Number.isInteger(args.seeds) || args.seeds < 1)) throw new UsageError('--seeds N, N ≥ 1')
    return args
  })
}

async function one(seed: number, args: Args): Promise<boolean> {
  console.log(`SEED=${formatSeed(seed)}`)
  let traceHash = 0
  const trace = args.trace
    ? (line: string): void => {
        traceHash = hashString(line, traceHash)
        console.log(line)
      }
    : undefined
  for (const line of describeOptions(scenarioOptions(seed, args.unsafe, args.driver))) console.log(`  ${line}`)
  const r = await runScenario(seed, { ...(trace ? { trace } : {}), unsafe: args.unsafe, driver: args.driver })
  const nonZero = Object.entries(r.counts).filter(([, v]) => v > 0)
  console.log(`counts: ${nonZero.map(([k, v]) => `${k}=${v}`).join(' ')}`)
  const traceDigest = trace ? ` trace_digest=${hex32(traceHash)}` : ''
  console.log(`events=${r.events} virtual_ms=${r.virtualMs} digest=${r.digest}${traceDigest}`)
  if (r.violations.length === 0) {
    console.log(`OK: safe throughout; converged ${r.convergedAfterMs} ms after healing (bound ${r.livenessBoundMs} ms)`)
    return true
  }
  for (const v of r.violations) printViolation(v, args, v.detail)
  return false
}

function printViolation(v: Violation, args: Args, detail: string): void {
  const where = `seed=${formatSeed(v.seed)} t=${v.time}ms nodes=[${v.nodes.join(',')}]`
  console.log(`VIOLATION ${v.rule} ${where}: ${detail}`)
  console.log(`  replay: ${replayCommand(v.seed, args.unsafe, args.driver)}`)
}

async function swarm(n: number, args: Args): Promise<boolean> {
  const base = args.from ?? randomInt(0, 0x100000000)
  console.log(`BASE_SEED=${formatSeed(base)} seeds=${n} driver=${args.driver} unsafe=${args.unsafe ?? 'none'}`)
  const knob = args.unsafe ? ` --unsafe ${args.unsafe}` : ''
  const driver = args.driver === 'raft' ? '' : ` --driver ${args.driver}`
  console.log(`  rerun: npm run sim -- --seeds ${n} --from ${formatSeed(base)}${driver}${knob}`)
  const totals: Record<string, number> = {}
  const failed: ScenarioResult[] = []
  let maxConverge = 0
  let events = 0
  const started = performance.now()
  for (const [i, seed] of swarmSeeds(base, n).entries()) {
    const r = await runScenario(seed, { unsafe: args.unsafe, driver: args.driver })
    events += r.events
    for (const [k, v] of Object.entries(r.counts)) totals[k] = (totals[k] ?? 0) + v
    if (r.violations.length > 0) {
      failed.push(r)
      // Printed at once as well, so a long swarm shows what to replay before it ends.
      const v = r.violations[0] as Violation
      printViolation(v, args, v.detail.split('\n')[0] as string)
    }
    maxConverge = Math.max(maxConverge, r.convergedAfterMs ?? 0)
    const every = args.driver === 'raft' ? 250 : 10
    if ((i + 1) % every === 0) console.error(`  … ${i + 1}/${n} seeds, ${failed.length} failing`)
  }
  const secs = (performance.now() - started) / 1000
  console.log(`seeds run: ${n} in ${secs.toFixed(1)} s = ${(n / secs).toFixed(1)} seeds/s (${events} events)`)
  console.log(`slowest convergence after healing: ${maxConverge} ms`)
  console.log('fault and event totals:')
  for (const k of Object.keys(totals).sort()) console.log(`  ${k.padEnd(36)} ${totals[k]}`)
  console.log(`violations: ${failed.length} seed(s)`)
  for (const r of failed) {
    const v = r.violations[0]
    if (v !== undefined) printViolation(v, args, v.detail.split('\n')[0] as string)
  }
  return failed.length === 0
}

const args = parseArgs(process.argv.slice(2))
const ok =
  args.seeds !== null ? await swarm(args.seeds, args) : await one(args.seed ?? randomInt(0, 0x100000000), args)
process.exitCode = ok ? 0 : 1
