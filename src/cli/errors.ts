/**
 * etcdctl's exit codes, and the error a command fails with: printed as `Error: <message>` on
 * stderr, after which the process exits with the error's code. An empty message prints nothing
 * (the command has already said what went wrong, as etcdctl's bare `os.Exit` calls do).
 *
 * @module
 */

export const ExitCode = {
  Success: 0,
  Error: 1,
  BadConnection: 2,
  InvalidInput: 3,
  BadFeature: 4,
  Interrupted: 5,
  IO: 6,
  BadArgs: 128,
} as const

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

export class CliError extends Error {
  readonly exitCode: ExitCode

  constructor(exitCode: ExitCode, message: string) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}
