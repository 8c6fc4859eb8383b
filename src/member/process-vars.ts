/**
 * The process variables of `/debug/vars` (debug-vars.ts) under Node:
 * - the command line as it was given (Linux's `/proc/self/cmdline`, as Go's os.Args; elsewhere
 *   node, its flags, the script and its arguments);
 * - the soft limit on open files (`/proc/self/limits`; left out elsewhere);
 * - memory under the names of Go's `runtime.MemStats` whose meaning carries over: `Sys` (resident
 *   set), `HeapSys` (the JS heap's size), `Alloc` and `HeapAlloc` (the JS heap in use). sql.js's
 *   database lives outside the JS heap: `Sys` counts it.
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import type { ProcessVars } from './debug-vars.ts'

/** The soft `Max open files` limit from a `/proc/<pid>/limits` text; undefined if absent or unlimited. */
export function openFilesLimit(limits: string): number | undefined {
  const m = /^Max open files\s+(\d+)/m.exec(limits)
  return m === null ? undefined : Number(m[1])
}

function readProc(name: string): string | undefined {
  try {
    return readFileSync(`/proc/self/${name}`, 'utf8')
  } catch {
    return undefined
  }
}

/** The command line: `/proc/self/cmdline` holds each argument followed by a NUL. */
function commandLine(): string[] {
  const raw = readProc('cmdline')
  if (raw === undefined || raw === '') return [process.execPath, ...process.execArgv, ...process.argv.slice(1)]
  return raw.replace(/\0$/, '').split('\0')
}

/** This process's variables, read now. */
export function nodeProcessVars(): ProcessVars {
  const mem = process.memoryUsage()
  const limits = readProc('limits')
  const limit = limits === undefined ? undefined : openFilesLimit(limits)
  return {
    cmdline: commandLine(),
    ...(limit === undefined ? {} : { file_descriptor_limit: limit }),
    memstats: { Alloc: mem.heapUsed, HeapAlloc: mem.heapUsed, HeapSys: mem.heapTotal, Sys: mem.rss },
  }
}
