/**
 * What Linux's /proc says about processes a test started, so it can check by PID that they run,
 * are gone, or belong to whom. A zombie counts as gone: it runs nothing, serves nothing and holds
 * no port; only its parent's wait is missing. A PID read here may be reused once its process is
 * gone, so a test signals a PID only while the process it means is known to run (or checks
 * `commandLine` first).
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs'

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    // /proc/<pid>/stat: "<pid> (<command>) <state> …"; the command may itself hold ") ".
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z'
  } catch {
    return false
  }
}

/** The process's arguments joined by spaces; '' once it is gone. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()
  } catch {
    return ''
  }
}

/** The PIDs whose parent is `pid` (from /proc/<pid>/task/<tid>/children of each thread), ascending. */
export function childrenOf(pid: number): number[] {
  const pids: number[] = []
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim()
    if (text !== '') pids.push(...text.split(/\s+/).map(Number))
  }
  return pids.sort((a, b) => a - b)
}
