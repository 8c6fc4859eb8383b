/**
 * Runs Debian's Python (where its python3-etcd3 and python3-etcd3gw packages are importable) with
 * `args`, killed after `timeoutMs` or when the test process exits: its exit code and output.
 *
 * @module
 */
import { execFile } from 'node:child_process'
import { killOnExit } from '../kill-on-exit.ts'

const PYTHON = '/usr/bin/python3'

export function runPython(args: readonly string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(PYTHON, [...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, out: stdout + stderr })
    })
    killOnExit(child)
  })
}
