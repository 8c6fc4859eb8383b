/**
 * The gateway's view of the cluster: the member endpoints, which of them answered last time
 * (liveness), which one leads (a cache, refreshed on failure or on a not-leader answer, moved by
 * a member's leader hint), and
 * member IDs by endpoint. Nothing here matters for correctness: a stale leader only costs a
 * forward inside the cluster, and a down mark only moves an endpoint to the back of the line.
 *
 * The leader is found by asking every member for `maintenance/status` at once and believing the
 * answer with the highest raft term, once a majority answered (or every probe ended); its
 * endpoint is the member whose own status carries that ID.
 * Invariant: a leader found by a refresh has answered that refresh (health relies on it). With
 * `autoSync`, each refresh also replaces the endpoint list with the client URLs of the cluster's
 * voting members (`cluster/member/list`).
 *
 * @module
 */
import type { Exchange } from './exchange.ts'
import type { Target } from './routes.ts'

export interface MemberDirectoryOptions {
  readonly endpoints: readonly string[]
  /** How the probes reach a member. */
  readonly exchange: Exchange
  /** Milliseconds one probe (status, member list) of one member may take. */
  readonly probeTimeoutMs: number
  /** Replace the endpoints with the cluster's client URLs (member/list) after each refresh. */
  readonly autoSync: boolean
}

interface Status {
  readonly endpoint: string
  readonly memberId: string
  readonly leader: string
  readonly raftTerm: bigint
}

interface ListedMember {
  readonly clientUrls: readonly string[]
  readonly isLearner: boolean
}

/** `http://h:1/` → `http://h:1`; throws on anything but an http(s) URL. */
export function normalizeEndpoint(endpoint: string): string {
  const url = new URL(endpoint.trim())
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`not an http(s) endpoint: ${endpoint}`)
  }
  return url.origin + url.pathname.replace(/\/+$/, '')
}

export class MemberDirectory {
  readonly #exchange: Exchange
  readonly #probeTimeoutMs: number
  readonly #autoSync: boolean
  #endpoints: readonly string[]
  readonly #down = new Set<string>()
  /** member ID (decimal string) → endpoint, from status answers. */
  readonly #ids = new Map<string, string>()
  #leader: string | undefined
  #refreshing: Promise<string | undefined> | undefined
  #cursor = 0

  constructor(options: MemberDirectoryOptions) {
    const endpoints = [...new Set(options.endpoints.map(normalizeEndpoint))]
    if (endpoints.length === 0) throw new TypeError('the gateway needs at least one member endpoint')
    this.#endpoints = endpoints
    this.#exchange = options.exchange
    this.#probeTimeoutMs = options.probeTimeoutMs
    this.#autoSync = options.autoSync
  }

  /** The cached leader endpoint, if one is known. */
  leader(): string | undefined {
    return this.#leader
  }

  isLive(endpoint: string): boolean {
    return !this.#down.has(endpoint)
  }

  markUp(endpoint: string): void {
    this.#down.delete(endpoint)
  }

  /** The endpoint could not be reached; if it was the leader, the leader is unknown again. */
  markDown(endpoint: string): void {
    this.#down.add(endpoint)
    if (this.#leader === endpoint) this.#leader = undefined
  }

  /**
   * `from` answered as a follower of member `id` (its leader hint, api/leader-hint.ts). If `from`
   * was the cached leader, the leader is now `id`'s endpoint when known and live, else unknown
   * (the next leader-bound call refreshes).
   */
  leaderMoved(from: string, id: string): void {
    if (this.#leader !== from) return
    const to = this.#ids.get(id)
    this.#leader = to !== undefined && this.isLive(to) ? to : undefined
  }

  /** The endpoint said it has no leader or is not the leader: forget the cached one. */
  forgetLeader(): void {
    this.#leader = undefined
  }

  /**
   * Endpoints to try, in order, for one round of attempts. `leader`: the cached leader, then the
   * other live members, then the down ones. `spread`: live members starting one further round
   * the ring on every call, then the down ones. `follower`: as spread, the cached leader last of
   * the live ones.
   */
  candidates(target: Target): string[] {
    const n = this.#endpoints.length
    const start = target === 'leader' ? 0 : this.#cursor++ % n
    const ring = [...this.#endpoints.slice(start), ...this.#endpoints.slice(0, start)]
    const first = target === 'leader' && this.#leader !== undefined ? [this.#leader] : []
    const rest = ring.filter((e) => e !== this.#leader || target === 'spread')
    const last = target === 'follower' && this.#leader !== undefined ? [this.#leader] : []
    const live = [...rest.filter((e) => this.isLive(e)), ...last.filter((e) => this.isLive(e))]
    return [...first, ...live, ...rest.filter((e) => !this.isLive(e)), ...last.filter((e) => !this.isLive(e))]
  }

  /**
   * The first of {@link candidates}, without building the list (and moving the spread cursor on
   * as it does): the endpoint a request tries first.
   */
  first(target: Target): string | undefined {
    const endpoints = this.#endpoints
    const n = endpoints.length
    if (target === 'leader') {
      if (this.#leader !== undefined) return this.#leader
      return endpoints.find((e) => this.isLive(e)) ?? endpoints[0]
    }
    const start = this.#cursor++ % n
    for (let i = 0; i < n; i++) {
      const e = endpoints[(start + i) % n] as string
      if (this.isLive(e) && (target === 'spread' || e !== this.#leader)) return e
    }
    return target === 'follower' && this.#leader !== undefined && this.isLive(this.#leader) ? this.#leader : endpoints[start]
  }

  /** Probes the members (one refresh at a time; concurrent callers share it). Resolves to the leader. */
  refreshLeader(): Promise<string | undefined> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined
    })
    return this.#refreshing
  }

  /** The member a request names, by endpoint URL or decimal member ID; undefined if unknown. */
  async resolve(member: string): Promise<string | undefined> {
    if (/^https?:\/\//i.test(member) && URL.canParse(member)) {
      const url = normalizeEndpoint(member)
      if (this.#endpoints.includes(url)) return url
    }
    if (!this.#ids.has(member)) await this.refreshLeader()
    return this.#ids.get(member)
  }

  /**
   * Asks every member; decides once a majority answered and the leader they name (the newest
   * term's) answered too, or once every probe ended: a hung member (whose probe takes its whole
   * timeout) holds up no refresh. The probes still under way go on marking members up or down.
   */
  async #refresh(): Promise<string | undefined> {
    const endpoints = this.#endpoints
    const majority = Math.floor(endpoints.length / 2) + 1
    const statuses: Status[] = []
    const leader = await new Promise<string | undefined>((resolve) => {
      let ended = 0
      const settle = (): void => {
        ended++
        const found = leaderAmong(statuses)
        if ((found !== undefined && statuses.length >= majority) || ended === endpoints.length) resolve(found)
      }
      for (const endpoint of endpoints)
        this.#status(endpoint).then((s) => {
          if (s !== undefined) {
            statuses.push(s)
            this.#ids.set(s.memberId, s.endpoint)
          }
          settle()
        }, settle)
    })
    const asked = leader ?? statuses[0]?.endpoint
    if (this.#autoSync && asked !== undefined) {
      const members = await this.#memberList(asked)
      if (members !== undefined) this.#sync(members)
    }
    this.#leader = leader
    return leader
  }

  #sync(members: readonly ListedMember[]): void {
    const voters = members.filter((m) => !m.isLearner)
    const urls = voters.flatMap((m) => m.clientUrls.slice(0, 1).map(normalizeEndpoint))
    if (urls.length > 0) this.#endpoints = [...new Set(urls)]
  }

  async #status(endpoint: string): Promise<Status | undefined> {
    const body = await this.#probe(endpoint, '/v3/maintenance/status')
    const header = field(body, 'header')
    const memberId = field(header, 'member_id')
    if (memberId === undefined) return undefined
    const leader = field(body, 'leader')
    const term = field(body, 'raftTerm') ?? field(header, 'raft_term') ?? '0'
    return {
      endpoint,
      memberId: String(memberId),
      leader: leader === undefined ? '' : String(leader),
      raftTerm: /^\d+$/.test(String(term)) ? BigInt(String(term)) : 0n,
    }
  }

  async #memberList(endpoint: string): Promise<ListedMember[] | undefined> {
    const members = field(await this.#probe(endpoint, '/v3/cluster/member/list'), 'members')
    if (!Array.isArray(members)) return undefined
    return members.map((m: unknown) => {
      const urls = field(m, 'clientURLs')
      return {
        clientUrls: Array.isArray(urls) ? urls.filter((u) => typeof u === 'string' && URL.canParse(u)) : [],
        isLearner: field(m, 'isLearner') === true,
      }
    })
  }

  /** POSTs `{}` to one member; marks it up or down; the parsed JSON of a 200, else undefined. */
  async #probe(endpoint: string, path: string): Promise<unknown> {
    const outcome = await this.#exchange({
      method: 'POST',
      endpoint,
      path,
      headers: PROBE_HEADERS,
      body: EMPTY_OBJECT,
      timeoutMs: this.#probeTimeoutMs,
      // (A fresh signal each time: a Worker may neither make one in global scope nor share one between requests.)
      signal: new AbortController().signal,
    })
    if (outcome.kind !== 'answered') {
      if (outcome.kind === 'unsent' || outcome.kind === 'lost') this.markDown(endpoint)
      return undefined
    }
    this.markUp(endpoint)
    if (outcome.answer.status !== 200) return undefined
    try {
      return JSON.parse(new TextDecoder().decode(outcome.answer.body))
    } catch {
      return undefined
    }
  }
}

const PROBE_HEADERS: Readonly<Record<string, string>> = { 'content-type': 'application/json' }
const EMPTY_OBJECT = new TextEncoder().encode('{}')

/** The endpoint of the leader named with the newest term, if it is among `statuses` itself. */
function leaderAmong(statuses: readonly Status[]): string | undefined {
  let newest: Status | undefined
  for (const s of statuses) if (s.leader !== '' && s.leader !== '0' && (newest === undefined || s.raftTerm > newest.raftTerm)) newest = s
  return newest === undefined ? undefined : statuses.find((s) => s.memberId === newest.leader)?.endpoint
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined
}
