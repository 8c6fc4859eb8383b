/**
 * The structured logger port: pino's calling convention (`log.info({ field }, 'message')`), so
 * the Node entry point passes a pino logger and tests or the simulator pass a silent or
 * collecting one.
 *
 * @module
 */

export type LogFn = (fields: Record<string, unknown>, message: string) => void

export interface Logger {
  readonly debug: LogFn
  readonly info: LogFn
  readonly warn: LogFn
  readonly error: LogFn
}

const ignore: LogFn = () => undefined

export const silentLogger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore }
