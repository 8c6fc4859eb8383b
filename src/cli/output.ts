/**
 * How each command's answer is printed, in etcdctl 3.4's three formats:
 *
 * - `simple`: etcdctl's exact lines (`get`: key then value; `put`: `OK`; `del`: the count; lease
 *   IDs as `%016x`, member IDs as `%x`; endpoint and member lists as comma-separated rows);
 * - `json`: the answer as etcd's JSON gateway prints it (src/api's encoder: base64 bytes, int64 as
 *   strings, zero values left out), one message per line; endpoint lists wrap each answer as
 *   etcdctl does (`[{"Endpoint":…,"Status":{…}}]`), and `snapshot status` and `endpoint health`,
 *   which are etcdctl's own structs, print as etcdctl prints them;
 * - `table`: member list, endpoint health/status/hashkv and snapshot status only; other commands
 *   fail with etcdctl's `table not supported as output format` (exit code 4).
 *
 * @module
 */
import {
  alarmText, encodeResponse, kvDeleteRange, kvPut, kvRange, kvTxn, leaseGrant, leaseKeepAlive, leaseLeases, leaseRevoke,
  leaseTimeToLive, maintenanceAlarm, maintenanceHashKv, maintenanceStatus, maintenanceTransferLeadership, memberAdd,
  memberList, memberPromote, memberRemove, memberUpdate, watch,
  type AnyEndpoint, type Endpoint, type EmptyRequest, type HeaderContext, type LeaseKeepAliveResponse,
  type MemberAddResponse, type MembersResponse, type StatusResponse, type WatchResponse,
} from '../api/index.ts'
import type { Answer } from '../client/index.ts'
import type {
  AlarmResponse, DeleteRangeResponse, HashKvResponse, KeyValue, LeaseGrantResponse, LeaseLeasesResponse,
  LeaseRevokeResponse, LeaseTimeToLiveResponse, PutResponse, RangeResponse, TxnResponse,
} from '../mvcc/kv.ts'
import { CliError, ExitCode } from './errors.ts'
import { goQuote, hexEscape, humanizeBytes, idHex, idHex16, leaseHex, renderTable } from './format.ts'

export type Format = 'simple' | 'json' | 'table'

/** Where a command writes: `out` lines go to stdout (bytes as they are), `err` lines to stderr. */
export interface Output {
  out(line: string | Uint8Array): void
  err(line: string): void
}

export const stdio: Output = {
  out: (line) => {
    process.stdout.write(typeof line === 'string' ? line + '\n' : Buffer.concat([line, Buffer.from('\n')]))
  },
  err: (line) => {
    process.stderr.write(line + '\n')
  },
}

export interface EndpointHealth {
  readonly endpoint: string
  readonly health: boolean
  /** A Go duration string. */
  readonly took: string
  /** Empty when healthy. */
  readonly error: string
}

export interface EndpointStatus {
  readonly endpoint: string
  readonly status: Answer<StatusResponse>
}

export interface EndpointHashKv {
  readonly endpoint: string
  readonly hashKv: Answer<HashKvResponse>
}

/** `snapshot status`: etcdctl's snapshot.Status. */
export interface DbStatus {
  readonly hash: number
  readonly revision: number
  readonly totalKey: number
  readonly totalSize: number
}

export interface PrintOptions {
  /** `--hex`: keys and values as `\x` escapes. */
  readonly hex: boolean
  /** `get --print-value-only`. */
  readonly valueOnly: boolean
}

interface Rows {
  readonly header: readonly string[]
  readonly rows: readonly (readonly string[])[]
}

const MEMBER_CHANGES: Readonly<Record<'removed from' | 'updated in' | 'promoted in', AnyEndpoint>> = {
  'removed from': memberRemove,
  'updated in': memberUpdate,
  'promoted in': memberPromote,
}

const NO_HEADER: HeaderContext = { clusterId: 0n, memberId: 0n, raftTerm: 0 }

/** The JSON gateway's text of `res`, its header completed from the answer's own header. */
function gatewayJson<Req, Res, Wire>(ep: Endpoint<Req, Res, Wire>, res: Res | Answer<Res>): string {
  const header = (res as { readonly header?: Partial<HeaderContext> }).header
  const ctx: HeaderContext = {
    clusterId: header?.clusterId ?? NO_HEADER.clusterId,
    memberId: header?.memberId ?? NO_HEADER.memberId,
    raftTerm: header?.raftTerm ?? NO_HEADER.raftTerm,
  }
  return encodeResponse(ep, res as Res, ctx)
}

/** etcdctl's JSON of one endpoint's answer: `{"Endpoint":…,"<field>":<answer>}`. */
function endpointJson(endpoint: string, field: string, answer: string): string {
  return `{"Endpoint":${JSON.stringify(endpoint)},"${field}":${answer}}`
}

function memberRows(res: MembersResponse): Rows {
  return {
    header: ['ID', 'Status', 'Name', 'Peer Addrs', 'Client Addrs', 'Is Learner'],
    rows: res.members.map((m) => [
      idHex(m.id),
      m.name === '' ? 'unstarted' : 'started',
      m.name,
      m.peerUrls.join(','),
      m.clientUrls.join(','),
      String(m.isLearner),
    ]),
  }
}

function healthRows(list: readonly EndpointHealth[]): Rows {
  return {
    header: ['endpoint', 'health', 'took', 'error'],
    rows: list.map((h) => [h.endpoint, String(h.health), h.took, h.error]),
  }
}

function statusRows(list: readonly EndpointStatus[]): Rows {
  return {
    header: ['endpoint', 'ID', 'version', 'db size', 'is leader', 'is learner', 'raft term', 'raft index',
      'raft applied index', 'errors'],
    rows: list.map(({ endpoint, status: s }) => [
      endpoint,
      idHex(s.header.memberId),
      s.version,
      humanizeBytes(s.dbSize),
      String(s.leader === s.header.memberId),
      String(s.isLearner),
      String(s.raftTerm),
      String(s.raftIndex),
      String(s.raftAppliedIndex),
      s.errors.join(', '),
    ]),
  }
}

function hashKvRows(list: readonly EndpointHashKv[]): Rows {
  return { header: ['endpoint', 'hash'], rows: list.map((h) => [h.endpoint, String(h.hashKv.hash)]) }
}

function dbStatusRows(s: DbStatus): Rows {
  return {
    header: ['hash', 'revision', 'total keys', 'total size'],
    rows: [[s.hash.toString(16), String(s.revision), String(s.totalKey), humanizeBytes(s.totalSize)]],
  }
}

export class Printer {
  readonly format: Format
  readonly #out: Output
  readonly #options: PrintOptions

  constructor(format: Format, out: Output, options: PrintOptions = { hex: false, valueOnly: false }) {
    this.format = format
    this.#out = out
    this.#options = options
  }

  /** The same printer with other options (e.g. `--print-value-only`). */
  with(options: Partial<PrintOptions>): Printer {
    return new Printer(this.format, this.#out, { ...this.#options, ...options })
  }

  /** An answer of `ep`: the gateway's JSON, or the given simple-format lines. */
  answer<Req, Res, Wire>(ep: Endpoint<Req, Res, Wire>, res: Res | Answer<Res>, simple: readonly string[]): void {
    if (this.#json(ep, res)) return
    for (const line of simple) this.#out.out(line)
  }

  /** `countOnly`: the range was asked for its count (printed as a number in simple format). */
  get(res: Answer<RangeResponse> | RangeResponse, options: { readonly countOnly?: boolean } = {}): void {
    if (this.#json(kvRange, res)) return
    if (options.countOnly === true) this.#out.out(String(res.count))
    for (const kv of res.kvs) this.#kv(kv)
  }

  put(res: Answer<PutResponse> | PutResponse): void {
    if (this.#json(kvPut, res)) return
    this.#out.out('OK')
    if (res.prevKv !== null) this.#kv(res.prevKv)
  }

  del(res: Answer<DeleteRangeResponse> | DeleteRangeResponse): void {
    if (this.#json(kvDeleteRange, res)) return
    this.#out.out(String(res.deleted))
    for (const kv of res.prevKvs) this.#kv(kv)
  }

  txn(res: Answer<TxnResponse> | TxnResponse): void {
    if (this.#json(kvTxn, res)) return
    this.#out.out(res.succeeded ? 'SUCCESS' : 'FAILURE')
    for (const r of res.responses) {
      this.#out.out('')
      if (r.type === 'range') this.get(r.response)
      else if (r.type === 'put') this.put(r.response)
      else if (r.type === 'delete-range') this.del(r.response)
      else this.txn(r.response)
    }
  }

  /** One watch message: its events (etcdctl does not print `created`). */
  watch(res: Answer<WatchResponse>): void {
    if (this.#json(watch, res)) return
    for (const e of res.events) {
      this.#out.out(e.type)
      if (e.prevKv !== null) this.#kv(e.prevKv)
      this.#kv(e.kv)
    }
  }

  grant(res: Answer<LeaseGrantResponse>): void {
    if (this.#json(leaseGrant, res)) return
    this.#out.out(`lease ${leaseHex(res.id)} granted with TTL(${res.ttl}s)`)
  }

  revoke(id: bigint, res: Answer<LeaseRevokeResponse>): void {
    if (this.#json(leaseRevoke, res)) return
    this.#out.out(`lease ${leaseHex(id)} revoked`)
  }

  keepAlive(res: Answer<LeaseKeepAliveResponse>): void {
    if (this.#json(leaseKeepAlive, res)) return
    this.#out.out(`lease ${leaseHex(res.id)} keepalived with TTL(${res.ttl})`)
  }

  timeToLive(res: Answer<LeaseTimeToLiveResponse>, keys: boolean): void {
    if (this.#json(leaseTimeToLive, res)) return
    if (res.grantedTtl === 0 && res.ttl === -1) {
      this.#out.out(`lease ${leaseHex(res.id)} already expired`)
      return
    }
    let text = `lease ${leaseHex(res.id)} granted with TTL(${res.grantedTtl}s), remaining(${res.ttl}s)`
    if (keys) text += `, attached keys([${res.keys.map((k) => new TextDecoder().decode(k)).join(' ')}])`
    this.#out.out(text)
  }

  leases(res: Answer<LeaseLeasesResponse>): void {
    if (this.#json(leaseLeases, res)) return
    this.#out.out(`found ${res.leases.length} leases`)
    for (const l of res.leases) this.#out.out(leaseHex(l.id))
  }

  /** Simple format adds the variables that start the new member (EDGECD_*, as etcdctl's ETCD_*). */
  memberAdd(res: Answer<MemberAddResponse>, name: string, peerUrls: string): void {
    if (this.#json(memberAdd, res)) return
    const id = res.member?.id ?? 0n
    this.#out.out(`Member ${idHex16(id)} added to cluster ${idHex16(res.header.clusterId)}`)
    const cluster = res.members.flatMap((m) => m.peerUrls.map((u) => `${m.id === id ? name : m.name}=${u}`))
    this.#out.out('')
    this.#out.out(`EDGECD_NAME=${goQuote(new TextEncoder().encode(name))}`)
    this.#out.out(`EDGECD_INITIAL_CLUSTER=${goQuote(new TextEncoder().encode(cluster.join(',')))}`)
    this.#out.out(`EDGECD_INITIAL_ADVERTISE_PEER_URLS=${goQuote(new TextEncoder().encode(peerUrls))}`)
    this.#out.out('EDGECD_INITIAL_CLUSTER_STATE="existing"')
  }

  /** member remove, update or promote: `verb` is `removed from`, `updated in` or `promoted in`. */
  memberChange(verb: keyof typeof MEMBER_CHANGES, id: bigint, res: Answer<MembersResponse>): void {
    if (this.#json(MEMBER_CHANGES[verb], res)) return
    this.#out.out(`Member ${idHex16(id)} ${verb} cluster ${idHex16(res.header.clusterId)}`)
  }

  memberList(res: Answer<MembersResponse>): void {
    if (this.format === 'json') this.#out.out(gatewayJson(memberList, res))
    else this.#rows(memberRows(res))
  }

  /** Simple format writes to stderr, as etcdctl does. */
  endpointHealth(list: readonly EndpointHealth[]): void {
    if (this.format === 'json') {
      this.#out.out(JSON.stringify(list.map((h) => ({
        endpoint: h.endpoint, health: h.health, took: h.took, ...(h.error === '' ? {} : { error: h.error }),
      }))))
      return
    }
    if (this.format === 'table') return this.#rows(healthRows(list))
    for (const h of list) {
      this.#out.err(
        h.error === ''
          ? `${h.endpoint} is healthy: successfully committed proposal: took = ${h.took}`
          : `${h.endpoint} is unhealthy: failed to commit proposal: ${h.error}`,
      )
    }
  }

  endpointStatus(list: readonly EndpointStatus[]): void {
    if (this.format === 'json') {
      const items = list.map((s) => endpointJson(s.endpoint, 'Status', gatewayJson(maintenanceStatus, s.status)))
      this.#out.out(`[${items.join(',')}]`)
      return
    }
    this.#rows(statusRows(list))
  }

  endpointHashKv(list: readonly EndpointHashKv[]): void {
    if (this.format === 'json') {
      const items = list.map((h) => endpointJson(h.endpoint, 'HashKV', gatewayJson(maintenanceHashKv, h.hashKv)))
      this.#out.out(`[${items.join(',')}]`)
      return
    }
    this.#rows(hashKvRows(list))
  }

  moveLeader(leader: bigint, target: bigint, res: Answer<EmptyRequest>): void {
    if (this.#json(maintenanceTransferLeadership, res)) return
    this.#out.out(`Leadership transferred from ${idHex(leader)} to ${idHex(target)}`)
  }

  alarm(res: AlarmResponse): void {
    if (this.#json(maintenanceAlarm, res)) return
    for (const a of res.alarms) this.#out.out(alarmText(a))
  }

  dbStatus(status: DbStatus): void {
    if (this.format === 'json') {
      this.#out.out(JSON.stringify(status))
      return
    }
    this.#rows(dbStatusRows(status))
  }

  /** JSON format: prints `res` as the gateway would and says so; table format: not supported. */
  #json<Req, Res, Wire>(ep: Endpoint<Req, Res, Wire>, res: Res | Answer<Res>): boolean {
    if (this.format === 'table') throw new CliError(ExitCode.BadFeature, 'table not supported as output format')
    if (this.format !== 'json') return false
    this.#out.out(gatewayJson(ep, res))
    return true
  }

  /** Simple: comma-separated rows; table: tablewriter's table. */
  #rows({ header, rows }: Rows): void {
    if (this.format === 'table') for (const line of renderTable(header, rows)) this.#out.out(line)
    else for (const row of rows) this.#out.out(row.join(', '))
  }

  #kv(kv: KeyValue): void {
    const text = (bytes: Uint8Array): string | Uint8Array => (this.#options.hex ? hexEscape(bytes) : bytes)
    if (!this.#options.valueOnly) this.#out.out(text(kv.key))
    this.#out.out(text(kv.value))
  }
}
