/**
 * `GET /ui/api/cluster`: one JSON snapshot of the cluster for the dashboard, gathered at request
 * time (the gateway keeps nothing between requests, so it also works from many Worker isolates):
 * the member list (names, learners, members added since the gateway started), and per member its
 * `maintenance/status` and a summary of its `/metrics`. Rates (requests/s, latency over the last
 * interval) are differences between two snapshots, computed by the page.
 *
 * A member that does not answer within the probe timeout is reported with `reachable: false` and
 * the reason; the snapshot itself always answers 200.
 *
 * @module
 */
import { normalizeEndpoint } from './members.ts'
import { summarizeMetrics, type MetricsSummary } from './ui-metrics.ts'

export interface UiClusterOptions {
  /** The gateway's configured member endpoints. */
  readonly endpoints: readonly string[]
  readonly fetch: typeof fetch
  /** Milliseconds one member may take to answer one probe. */
  readonly timeoutMs: number
}

export interface UiMemberStatus {
  readonly leader: string
  readonly raftTerm: string
  readonly raftIndex: string
  readonly raftAppliedIndex: string
  readonly dbSize: string
  readonly dbSizeInUse: string
  readonly revision: string
  readonly version: string
  readonly errors: readonly string[]
}

export interface UiMember {
  readonly endpoint: string
  /** Decimal member ID; '' while unknown (never answered, not in the member list). */
  readonly id: string
  readonly name: string
  readonly learner: boolean
  readonly reachable: boolean
  /** Why the status probe failed. */
  readonly error?: string
  readonly status?: UiMemberStatus
  readonly metrics?: MetricsSummary
}

export interface UiCluster {
  /** Gateway time of the snapshot, milliseconds since the epoch. */
  readonly time: number
  readonly members: readonly UiMember[]
}

interface Listed {
  readonly id: string
  readonly name: string
  readonly learner: boolean
  readonly clientUrl: string | undefined
}

type Json = Record<string, unknown>

function str(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : ''
}

function obj(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {}
}

function reason(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return 'timed out'
    return error.message === 'fetch failed' ? 'unreachable' : error.message
  }
  return String(error)
}

export async function clusterSnapshot(options: UiClusterOptions, auth: string | undefined): Promise<UiCluster> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (auth !== undefined) headers['authorization'] = auth
  const post = async (endpoint: string, path: string): Promise<Json> => {
    const res = await options.fetch(endpoint + path, {
      method: 'POST',
      headers,
      body: '{}',
      signal: AbortSignal.timeout(options.timeoutMs),
    })
    const body: unknown = await res.json()
    if (res.status !== 200) throw new Error(str(obj(body)['message']) || `HTTP ${res.status}`)
    return obj(body)
  }
  const metrics = async (endpoint: string): Promise<MetricsSummary | undefined> => {
    try {
      const res = await options.fetch(`${endpoint}/metrics`, { signal: AbortSignal.timeout(options.timeoutMs) })
      return res.status === 200 ? summarizeMetrics(await res.text()) : undefined
    } catch {
      return undefined
    }
  }

  const configured = [...new Set(options.endpoints.map(normalizeEndpoint))]
  const listed = await memberList(configured, post)
  const endpoints = [...configured]
  for (const m of listed) if (m.clientUrl !== undefined && !endpoints.includes(m.clientUrl)) endpoints.push(m.clientUrl)

  const probed = await Promise.all(
    endpoints.map(async (endpoint): Promise<UiMember> => {
      const [status, summary] = await Promise.all([
        post(endpoint, '/v3/maintenance/status').then(
          (s) => ({ ok: true as const, s }),
          (e: unknown) => ({ ok: false as const, e }),
        ),
        metrics(endpoint),
      ])
      const byUrl = listed.find((m) => m.clientUrl === endpoint)
      if (!status.ok) {
        return {
          endpoint,
          id: byUrl?.id ?? '',
          name: byUrl?.name ?? '',
          learner: byUrl?.learner ?? false,
          reachable: false,
          error: reason(status.e),
        }
      }
      const s = status.s
      const id = str(obj(s['header'])['member_id'])
      const entry = listed.find((m) => m.id === id) ?? byUrl
      const member: UiMember = {
        endpoint,
        id,
        name: entry?.name ?? '',
        learner: entry?.learner ?? s['isLearner'] === true,
        reachable: true,
        status: {
          leader: str(s['leader']) || '0',
          raftTerm: str(s['raftTerm']) || str(obj(s['header'])['raft_term']) || '0',
          raftIndex: str(s['raftIndex']) || '0',
          raftAppliedIndex: str(s['raftAppliedIndex']) || '0',
          dbSize: str(s['dbSize']) || '0',
          dbSizeInUse: str(s['dbSizeInUse']) || '0',
          revision: str(obj(s['header'])['revision']) || '0',
          version: str(s['version']),
          errors: Array.isArray(s['errors']) ? s['errors'].map(str) : [],
        },
      }
      return summary === undefined ? member : { ...member, metrics: summary }
    }),
  )
  // Members in the list that have no client URL yet (added, not started) are shown as such.
  const seen = new Set(probed.map((m) => m.id))
  const unstarted = listed
    .filter((m) => m.clientUrl === undefined && !seen.has(m.id))
    .map((m): UiMember => ({ endpoint: '', id: m.id, name: m.name, learner: m.learner, reachable: false, error: 'not started' }))
  return { time: Date.now(), members: [...probed, ...unstarted] }
}

/** `cluster/member/list` from the first member that answers; [] when none does. */
async function memberList(
  endpoints: readonly string[],
  post: (endpoint: string, path: string) => Promise<Json>,
): Promise<Listed[]> {
  const answers = endpoints.map((e) => post(e, '/v3/cluster/member/list'))
  for (const answer of answers) answer.catch(() => undefined)
  let body: Json | undefined
  try {
    body = await Promise.any(answers)
  } catch {
    return []
  }
  const members = Array.isArray(body['members']) ? body['members'] : []
  return members.map((raw): Listed => {
    const m = obj(raw)
    const urls = Array.isArray(m['clientURLs']) ? m['clientURLs'].filter((u) => typeof u === 'string') : []
    let clientUrl: string | undefined
    try {
      clientUrl = urls[0] === undefined ? undefined : normalizeEndpoint(urls[0])
    } catch {
      clientUrl = undefined
    }
    return { id: str(m['ID']), name: str(m['name']), learner: m['isLearner'] === true, clientUrl }
  })
}
