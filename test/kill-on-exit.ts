/**
 * Child processes a test tool must not leave behind: each one registered here is killed (SIGKILL)
 * when this process exits, however it exits (the end of the script, process.exit, an uncaught
 * error such as EPIPE once its output is cut off by `| head`). A signal that kills the process
 * outright runs no exit handler: a tool that should survive Ctrl-C (or the test runner ending a
 * file that timed out) calls `exitOnSignals()`.
 *
 * The harnesses and tools register the processes they spawn here rather than keeping lists of
 * their own. The exit hook is installed when this module loads, before the exit hooks of the
 * modules that import it, so children die before anything else runs at exit (say, removing the
 * data dirs they write to).
 *
 * @module
 */
import type { ChildProcess } from 'node:child_process'
import { constants } from 'node:os'

export interface KillOnExitOptions {
  /**
   * Kill the child's whole process group (it was spawned `detached`, and its own children, such
   * as wrangler's workerd, share the group). The group stays registered after the child exits,
   * since what it started may still run, until `forget(child)`.
   */
  readonly group?: boolean
}

/** Registered children, each with whether its group is killed. */
const LIVE = new Map<ChildProcess, boolean>()
let signalsInstalled = false

process.once('exit', killAll)

function killAll(): void {
  for (const [child, group] of LIVE) {
    if (child.pid === undefined) continue
    if (!group && (child.exitCode !== null || child.signalCode !== null)) continue
    try {
      process.kill(group ? -child.pid : child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
}

/** Registers `child` to be killed when this process exits (unless it has exited by then). */
export function killOnExit<T extends ChildProcess>(child: T, options: KillOnExitOptions = {}): T {
  const group = options.group === true
  LIVE.set(child, group)
  if (!group) child.once('exit', () => LIVE.delete(child))
  return child
}

/** Stops killing `child` (or its group) on exit: for a group its owner has already ended. */
export function forget(child: ChildProcess): void {
  LIVE.delete(child)
}

/**
 * Makes SIGINT, SIGTERM and SIGHUP end this process through its exit handlers (killOnExit's
 * included), with the shell's exit code for that signal (128 + its number: 130, 143, 129).
 */
export function exitOnSignals(): void {
  if (signalsInstalled) return
  signalsInstalled = true
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.once(signal, () => process.exit(128 + constants.signals[signal]))
}
