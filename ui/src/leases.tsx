/**
 * The Leases & services view. Leases: every lease (a page at a time), its TTL counting down, the
 * keys attached to it; grant, keep alive once, revoke. Services: the instances registered under
 * /edgecd/services/<service>/<instance> (src/client/discovery.ts), kept live by a watch on that
 * prefix from the revision of the first read.
 *
 * @module
 */
import { useEffect, useState } from 'preact/hooks'
import { call, openWatch, type KeyValue, type RangeResponse } from './api.ts'
import { display, fromBase64, prefixEnd, toBase64, utf8 } from './bytes.ts'
import { clip, formatCount, formatSeconds, hexId } from './format.ts'
import { useNow, usePoll, useSession } from './hooks.ts'

interface Lease {
  readonly id: string
  readonly ttl: number
  readonly granted: number
  readonly keys: readonly string[]
  /** When the TTL was read (ms). */
  readonly at: number
}

const LEASE_PAGE = 12

function compareIds(a: string, b: string): number {
  const x = BigInt(a)
  const y = BigInt(b)
  return x < y ? -1 : x > y ? 1 : 0
}

/** `active`: the view is on screen (the lease table is only polled then). */
export function LeasesView(props: { readonly active: boolean }) {
  return (
    <section class="view leases" aria-label="Leases and services">
      <LeasesPanel active={props.active} />
      <ServicesPanel />
    </section>
  )
}

function LeasesPanel(props: { readonly active: boolean }) {
  const session = useSession()
  const now = useNow(250)
  const [ids, setIds] = useState<string[]>([])
  const [leases, setLeases] = useState<Map<string, Lease>>(new Map())
  const [pageNo, setPageNo] = useState(0)
  const [selected, setSelected] = useState<string | null>(null)
  const [ttl, setTtl] = useState('60')
  const [message, setMessage] = useState<{ text: string; bad: boolean } | null>(null)
  const [reloads, setReloads] = useState(0)

  const pages = Math.max(1, Math.ceil(ids.length / LEASE_PAGE))
  const page = Math.min(pageNo, pages - 1)

  usePoll(
    async (signal) => {
      if (!props.active) return
      const answer = await call<{ leases?: Array<{ ID: string }> }>('/v3/lease/leases', {}, { signal })
      const all = (answer.leases ?? []).map((l) => l.ID).sort(compareIds)
      setIds(all)
      const visible = all.slice(page * LEASE_PAGE, (page + 1) * LEASE_PAGE)
      const read = await Promise.all(
        visible.map(async (id): Promise<Lease> => {
          const t = await call<{ TTL?: string; grantedTTL?: string; keys?: string[] }>(
            '/v3/lease/timetolive',
            { ID: id, keys: true },
            { signal },
          )
          return { id, ttl: Number(t.TTL ?? -1), granted: Number(t.grantedTTL ?? 0), keys: t.keys ?? [], at: Date.now() }
        }),
      )
      setLeases(new Map(read.map((l) => [l.id, l])))
    },
    2000,
    [page, reloads, session.epoch, props.active],
  )

  const act = async (what: () => Promise<string>): Promise<void> => {
    setMessage(null)
    try {
      setMessage({ text: await what(), bad: false })
    } catch (e) {
      setMessage({ text: e instanceof Error ? e.message : String(e), bad: true })
    }
    setReloads((n) => n + 1)
  }

  const visible = ids.slice(page * LEASE_PAGE, (page + 1) * LEASE_PAGE)
  const chosen = selected === null ? undefined : leases.get(selected)
  return (
    <div class="panel leases-panel">
      <h2>
        Leases <span class="muted num">{formatCount(ids.length)}</span>
      </h2>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault()
          void act(async () => {
            const g = await call<{ ID: string; TTL: string }>('/v3/lease/grant', { TTL: ttl })
            setSelected(g.ID)
            return `Granted lease ${hexId(g.ID)} with TTL ${g.TTL}s.`
          })
        }}
      >
        <label class="inline">
          TTL (s)
          <input data-primary class="num rev-input" inputMode="numeric" value={ttl} onInput={(e) => setTtl((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit">Grant lease</button>
        <span class="spacer" />
        <button type="button" disabled={page === 0} onClick={() => setPageNo(page - 1)}>
          ←
        </button>
        <span class="num muted">
          {page + 1}/{pages}
        </span>
        <button type="button" disabled={page >= pages - 1} onClick={() => setPageNo(page + 1)}>
          →
        </button>
      </form>
      <table class="grid-table leases-table" data-testid="leases">
        <colgroup>
          <col class="c-lease" />
          <col class="c-ttl" />
          <col class="c-ttl" />
          <col class="c-keys" />
          <col class="c-bar" />
        </colgroup>
        <thead>
          <tr>
            <th>Lease ID</th>
            <th class="r">TTL left</th>
            <th class="r">Granted</th>
            <th class="r">Keys</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {visible.map((id) => {
            const l = leases.get(id)
            const left = l === undefined ? null : l.ttl < 0 ? -1 : Math.max(0, l.ttl - (now - l.at) / 1000)
            const fraction = l === undefined || left === null || l.granted <= 0 ? 0 : Math.min(1, Math.max(0, left / l.granted))
            return (
              <tr
                key={id}
                class={`clickable ${selected === id ? 'selected' : ''}`}
                data-testid="lease-row"
                data-lease={hexId(id)}
                tabIndex={0}
                onClick={() => setSelected(id)}
                onKeyDown={(e) => e.key === 'Enter' && setSelected(id)}
              >
                <td class="mono">{hexId(id)}</td>
                <td class="r num" data-field="ttl">
                  {left === null ? '…' : left < 0 ? 'expired' : formatSeconds(left)}
                </td>
                <td class="r num">{l === undefined ? '' : formatSeconds(l.granted)}</td>
                <td class="r num">{l === undefined ? '' : l.keys.length}</td>
                <td>
                  <span class="bar">
                    <span style={{ width: `${(fraction * 100).toFixed(1)}%` }} />
                  </span>
                </td>
              </tr>
            )
          })}
          {Array.from({ length: LEASE_PAGE - visible.length }, (_, i) => (
            <tr key={`pad-${i}`} class="placeholder">
              <td colSpan={5}>{i === 0 && visible.length === 0 ? 'No leases.' : ' '}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="lease-detail" data-testid="lease-detail">
        {chosen === undefined ? (
          <p class="muted">Select a lease to see its keys.</p>
        ) : (
          <>
            <div class="toolbar">
              <strong class="mono">lease {hexId(chosen.id)}</strong>
              <span class="spacer" />
              <button
                type="button"
                onClick={() =>
                  void act(async () => {
                    const r = await call<{ result?: { TTL?: string } }>('/v3/lease/keepalive', { ID: chosen.id })
                    return r.result?.TTL === undefined ? 'The lease is gone.' : `Kept alive: TTL ${r.result.TTL}s.`
                  })
                }
              >
                Keep alive
              </button>
              <button
                type="button"
                class="danger"
                onClick={() =>
                  void act(async () => {
                    await call('/v3/lease/revoke', { ID: chosen.id })
                    setSelected(null)
                    return `Revoked lease ${hexId(chosen.id)}; its keys are deleted.`
                  })
                }
              >
                Revoke
              </button>
            </div>
            <ul class="lease-keys mono">
              {chosen.keys.length === 0 && <li class="muted">no keys attached</li>}
              {chosen.keys.map((k) => (
                <li key={k} class="ellipsis">
                  {display(fromBase64(k))}
                </li>
              ))}
            </ul>
          </>
        )}
        <p class={`status-line ${message?.bad ? 'bad' : 'ok'}`} role="status">
          {message?.text ?? ' '}
        </p>
      </div>
    </div>
  )
}

const SERVICES = utf8('/edgecd/services/')
const SERVICE_LIMIT = 1000

interface Instance {
  readonly service: string
  readonly id: string
  readonly address: string
  readonly metadata: string
  readonly lease: string
  readonly revision: string
}

function parseInstance(kv: KeyValue): Instance | null {
  const rest = display(fromBase64(kv.key).subarray(SERVICES.length))
  const slash = rest.indexOf('/')
  if (slash <= 0 || slash === rest.length - 1) return null
  let address = ''
  let metadata = ''
  try {
    const value = JSON.parse(new TextDecoder().decode(fromBase64(kv.value))) as Record<string, unknown>
    address = typeof value['address'] === 'string' ? value['address'] : ''
    const { address: _, ...rest } = value
    metadata = Object.keys(rest).length === 0 ? '' : JSON.stringify(rest)
  } catch {
    metadata = clip(display(fromBase64(kv.value)), 60)
  }
  return {
    service: rest.slice(0, slash),
    id: rest.slice(slash + 1),
    address,
    metadata,
    lease: kv.lease ?? '',
    revision: kv.mod_revision ?? '',
  }
}

function ServicesPanel() {
  const session = useSession()
  const [instances, setInstances] = useState<Map<string, Instance>>(new Map())
  const [status, setStatus] = useState('loading…')
  const [truncated, setTruncated] = useState(false)

  useEffect(() => {
    let stopped = false
    let watch: { close(): void } | null = null
    let retry: ReturnType<typeof setTimeout> | undefined
    const range = { key: toBase64(SERVICES), range_end: toBase64(prefixEnd(SERVICES)) }
    const start = async (): Promise<void> => {
      try {
        const r = await call<RangeResponse>('/v3/kv/range', { ...range, limit: SERVICE_LIMIT })
        if (stopped) return
        const map = new Map<string, Instance>()
        for (const kv of r.kvs ?? []) {
          const i = parseInstance(kv)
          if (i !== null) map.set(kv.key, i)
        }
        setInstances(map)
        setTruncated(r.more === true)
        const from = String(Number(r.header.revision ?? '0') + 1)
        setStatus(`live since revision ${r.header.revision ?? '?'}`)
        watch = openWatch(
          { ...range, start_revision: from },
          {
            onResult: (result) => {
              if (result.canceled === true) {
                watch?.close()
                return
              }
              const events = result.events ?? []
              if (events.length === 0) return
              setInstances((old) => {
                const next = new Map(old)
                for (const e of events) {
                  if (e.type === 'DELETE') next.delete(e.kv.key)
                  else {
                    const i = parseInstance(e.kv)
                    if (i !== null) next.set(e.kv.key, i)
                  }
                }
                return next
              })
              if (result.header?.revision !== undefined) setStatus(`live at revision ${result.header.revision}`)
            },
            onEnd: (error) => {
              if (stopped) return
              setStatus(`reconnecting (${error?.message ?? 'stream ended'})`)
              retry = setTimeout(() => void start(), 2000)
            },
          },
        )
      } catch (e) {
        if (stopped) return
        setStatus(`error: ${e instanceof Error ? e.message : String(e)}; retrying`)
        retry = setTimeout(() => void start(), 2000)
      }
    }
    void start()
    return () => {
      stopped = true
      clearTimeout(retry)
      watch?.close()
    }
  }, [session.epoch])

  const byService = new Map<string, Instance[]>()
  for (const i of [...instances.values()].sort((a, b) => (a.service + a.id < b.service + b.id ? -1 : 1))) {
    byService.set(i.service, [...(byService.get(i.service) ?? []), i])
  }
  return (
    <div class="panel services-panel">
      <h2>
        Services <span class="muted num">{formatCount(byService.size)}</span>{' '}
        <span class="muted small" data-testid="services-status">
          {status}
        </span>
      </h2>
      {truncated && <p class="notice">Showing the first {SERVICE_LIMIT} instances.</p>}
      <div class="table-scroll services-scroll" data-testid="services">
        {byService.size === 0 && (
          <p class="muted empty">
            No services registered under <code>/edgecd/services/</code>.
          </p>
        )}
        {[...byService.entries()].map(([service, list]) => (
          <div class="service" key={service} data-testid="service" data-service={service}>
            <h3>
              {service} <span class="muted num">{list.length} live</span>
            </h3>
            <table class="grid-table">
              <colgroup>
                <col class="c-inst" />
                <col class="c-addr" />
                <col class="c-lease" />
                <col />
              </colgroup>
              <tbody>
                {list.map((i) => (
                  <tr key={i.id} data-testid="instance" data-instance={i.id}>
                    <td class="mono ellipsis">{i.id}</td>
                    <td class="mono ellipsis">{i.address}</td>
                    <td class="mono muted">{i.lease === '' ? 'no lease' : `lease ${hexId(i.lease)}`}</td>
                    <td class="mono muted ellipsis" title={i.metadata}>
                      {i.metadata}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      </div>
    </div>
  )
}
