/**
 * Stopping a member process when the process that started it dies, for harnesses (the chaos
 * runner, the end-to-end tests) that must leave no member behind when they are killed or run out
 * of memory. No native code: the parent spawns the member with stdin a pipe that it never writes
 * to or closes, and sets EDGECD_EXIT_WITH_PARENT=1. However the parent ends (even SIGKILL), the
 * kernel closes its end of the pipe and the member reads end-of-file on stdin.
 *
 * Invariants:
 * - Off unless EDGECD_EXIT_WITH_PARENT is exactly `1`: stdin is then not touched at all, so a
 *   normal run (stdin a terminal, /dev/null, a pipe from a supervisor) is unaffected.
 * - On: whatever arrives on stdin is discarded; its end, or an error on it, calls `stop` once, and
 *   `force` `graceMs` later if the process is still alive by then.
 * - A process stopped (SIGSTOP) when its parent dies acts only once it is continued.
 *
 * @module
 */
import type { Readable } from 'node:stream'

/** The variable that turns it on (`1`); harnesses set it on the members they spawn. */
export const EXIT_WITH_PARENT_ENV = 'EDGECD_EXIT_WITH_PARENT'

export interface ParentGoneActions {
  /** Stops the process cleanly; it is expected to exit. */
  readonly stop: () => void
  /** Ends the process at once: called if it is still running `graceMs` after `stop`. */
  readonly force: () => void
  readonly graceMs: number
}

/** If `env` asks for it, ends the process (see the module doc) once `stdin` ends. */
export function exitWithParent(
  env: Readonly<Record<string, string | undefined>>,
  stdin: Readable,
  actions: ParentGoneActions,
): void {
  if (env[EXIT_WITH_PARENT_ENV] !== '1') return
  let gone = false
  const onGone = (): void => {
    if (gone) return
    gone = true
    setTimeout(actions.force, actions.graceMs).unref()
    actions.stop()
  }
  stdin.on('data', () => undefined)
  stdin.once('end', onGone)
  stdin.once('error', onGone)
}
