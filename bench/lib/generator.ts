/**
 * A load generator's run as a child process (wrk.ts, h2load.ts): its output collected, its
 * figures read from that output once it exits.
 *
 * @module
 */
import { spawn } from 'node:child_process'
import { killOnExit } from '../../test/kill-on-exit.ts'

/** What one load generator run measured. */
export interface LoadResult {
  readonly requests: number
  readonly durationS: number
  readonly rps: number
  readonly p50Ms: number
  readonly p90Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  /** Non-2xx/3xx answers (and, for the gRPC put load, calls that made no revision: suite.ts). */
  readonly non2xx: number
  /** Connect, read, write errors and timeouts. */
  readonly socketErrors: number
}

export interface LoadRun {
  readonly pid: number
  /** The generator's name, as the CPU figures label it. */
  readonly generator: string
  readonly result: Promise<LoadResult>
}

/**
 * Runs `command` with `args`; `figures` reads its stdout and stderr (together) once it exits, and
 * throws when they hold no result.
 */
export function runGenerator(command: string, args: readonly string[], figures: (out: string, code: number | null) => LoadResult): LoadRun {
  const child = killOnExit(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }))
  let out = ''
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')))
  child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')))
  const result = new Promise<LoadResult>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => {
      try {
        resolve(figures(out, code))
      } catch (err) {
        reject(err)
      }
    })
  })
  return { pid: child.pid as number, generator: command, result }
}
