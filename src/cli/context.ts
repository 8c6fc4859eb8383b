/**
 * What every command shares: etcdctl's global flags (resolved from the command line, then
 * `EDGECD_*` and `ETCDCTL_*` variables, then defaults), where output goes, the printer for the
 * chosen format, and the clients a command talks through.
 *
 *   flag                 variable                                   default
 *   --endpoints          EDGECD_ENDPOINTS, ETCDCTL_ENDPOINTS        127.0.0.1:2379
 *   -w, --write-out      EDGECD_WRITE_OUT, ETCDCTL_WRITE_OUT        simple
 *   --dial-timeout       EDGECD_DIAL_TIMEOUT, ETCDCTL_DIAL_TIMEOUT  2s    (streams must open within it)
 *   --command-timeout    EDGECD_COMMAND_TIMEOUT, …                  5s    (one request, failover included)
 *   --hex                EDGECD_HEX, ETCDCTL_HEX                    false (keys and values as \x hex)
 *   --user name[:pw]     EDGECD_USER, ETCDCTL_USER                  none  (authenticate first; no
 *                                                                         password: prompted for)
 *   --password           EDGECD_PASSWORD, ETCDCTL_PASSWORD
 *
 * @module
 */
import { authAuthenticate } from '../api/index.ts'
import { createClient, type Client } from '../client/index.ts'
import { Transport } from '../client/transport.ts'
import { CliError, ExitCode } from './errors.ts'
import { Printer, type Format, type Output } from './output.ts'
import { readPassword } from './password.ts'

export interface GlobalOptions {
  /** As the user wrote them (shown in endpoint tables). */
  readonly endpoints: readonly string[]
  readonly writeOut: Format
  readonly dialTimeoutMs: number
  readonly commandTimeoutMs: number
  readonly hex: boolean
  readonly user: string | undefined
  readonly password: string | undefined
}

const UNITS_MS: Readonly<Record<string, number>> = {
  ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000,
}

/** A Go duration (`5s`, `1m30s`, `500ms`) in milliseconds; `what` names the flag in errors. */
export function parseDuration(text: string, what: string): number {
  const t = text.trim()
  let rest = t
  let total = 0
  if (t === '0') return 0
  if (t === '') throw new CliError(ExitCode.BadArgs, `${what}: empty duration`)
  while (rest !== '') {
    const m = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/.exec(rest)
    if (m === null) throw new CliError(ExitCode.BadArgs, `${what}: invalid duration ${JSON.stringify(t)}`)
    total += Number(m[1]) * (UNITS_MS[m[2] as string] as number)
    rest = rest.slice(m[0].length)
  }
  return total
}

/** An endpoint as etcdctl takes it (`host:port` or a URL) → the URL the client calls. */
export function endpointUrl(endpoint: string): string {
  const e = endpoint.trim()
  return /^https?:\/\//.test(e) ? e : `http://${e}`
}

function envValue(env: Readonly<Record<string, string | undefined>>, flag: string): string | undefined {
  const name = flag.toUpperCase().replace(/-/g, '_')
  return env[`EDGECD_${name}`] ?? env[`ETCDCTL_${name}`]
}

/** The global flags as commander parsed them (`flags`), completed from `env` and the defaults. */
export function resolveGlobals(
  flags: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
): GlobalOptions {
  const get = (prop: string, flag: string): string | undefined => {
    const v = flags[prop]
    if (typeof v === 'string') return v
    if (v === true) return 'true'
    return envValue(env, flag)
  }
  const endpoints = (get('endpoints', 'endpoints') ?? '127.0.0.1:2379')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')
  if (endpoints.length === 0) throw new CliError(ExitCode.BadArgs, '--endpoints: no endpoint given')
  const writeOut = get('writeOut', 'write-out') ?? 'simple'
  if (writeOut !== 'simple' && writeOut !== 'json' && writeOut !== 'table')
    throw new CliError(ExitCode.BadFeature, `unsupported output format ${JSON.stringify(writeOut)}`)
  const hex = get('hex', 'hex') ?? 'false'
  if (hex !== 'true' && hex !== 'false')
    throw new CliError(ExitCode.BadArgs, `--hex: must be true or false, got ${hex}`)
  return {
    endpoints,
    writeOut,
    dialTimeoutMs: parseDuration(get('dialTimeout', 'dial-timeout') ?? '2s', '--dial-timeout'),
    commandTimeoutMs: parseDuration(get('commandTimeout', 'command-timeout') ?? '5s', '--command-timeout'),
    hex: hex === 'true',
    user: get('user', 'user'),
    password: get('password', 'password'),
  }
}

/** The context a command runs in: its global options, its output, and clients on demand. */
export class Cli {
  readonly globals: GlobalOptions
  readonly output: Output
  /** Endpoint URLs, in the order given. */
  readonly urls: readonly string[]
  #token: Promise<string | undefined> | undefined = undefined

  constructor(globals: GlobalOptions, output: Output) {
    this.globals = globals
    this.output = output
    this.urls = globals.endpoints.map(endpointUrl)
  }

  /** The printer for `--write-out` and `--hex`. */
  printer(): Printer {
    return new Printer(this.globals.writeOut, this.output, { hex: this.globals.hex, valueOnly: false })
  }

  /** A client whose calls may take `--command-timeout` each (or `timeoutMs`), over `endpoints`. */
  async client(
    options: { readonly timeoutMs?: number; readonly endpoints?: readonly string[] } = {},
  ): Promise<Client> {
    return createClient({
      endpoints: options.endpoints ?? this.urls,
      timeoutMs: options.timeoutMs ?? this.globals.commandTimeoutMs,
      token: await this.#authenticated(),
    })
  }

  /** A client for streams (watch, keepalive, snapshot): they must open within `--dial-timeout`. */
  streamClient(): Promise<Client> {
    return this.client({ timeoutMs: this.globals.dialTimeoutMs })
  }

  /** The auth token for `--user`, fetched once; undefined without `--user`. */
  #authenticated(): Promise<string | undefined> {
    this.#token ??= this.#authenticate()
    return this.#token
  }

  async #authenticate(): Promise<string | undefined> {
    const { user } = this.globals
    if (user === undefined) return undefined
    const colon = user.indexOf(':')
    const name = colon < 0 ? user : user.slice(0, colon)
    const password = (colon < 0 ? this.globals.password : user.slice(colon + 1)) ?? (await readPassword('Password: '))
    const transport = new Transport({ endpoints: this.urls, timeoutMs: this.globals.commandTimeoutMs })
    const res = await transport.call(authAuthenticate, { name, password }, { idempotent: true })
    return res.token
  }
}
