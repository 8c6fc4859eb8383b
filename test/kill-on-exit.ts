/**
 * Child processes a test tool must not leave behind: each one registered here is killed (SIGKILL)
 * when this process exits, however it exits (the end of the script, process.exit, an uncaught
 * error such as EPIPE once its output is cut off by `| head`). A signal that kills the process
 * outright runs no exit handler: a tool that should survive Ctrl-C calls `exitOnSignals()`.
 *
 * @module
 */
import type { ChildProcess } from 'node:child_process'

const LIVE = new Set<ChildProcess>()
let installed = false

function killAll(): void {
  for (const child of LIVE) {
    try {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
}

/** Registers `child` to be killed when this process exits (unless it has exited by then). */
export function killOnExit<T extends ChildProcess>(child: T): T {
  if (!installed) {
    installed = true
    process.once('exit', killAll)
  }
  LIVE.add(child)
  child.once('exit', () => LIVE.delete(child))
  return child
}

/** Makes SIGINT and SIGTERM end this process through its exit handlers (killOnExit's included). */
export function exitOnSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))
}
