/**
 * The edgecd dashboard: a header with the cluster's leader, term and revision, four views
 * (Cluster, Keys, Watch, Leases & services) and the login form when auth asks for it. The
 * cluster snapshot is polled here, once a second, so leader changes are seen on every view.
 *
 * Keyboard: 1–4 switch views, `/` jumps to the view's main input, Esc leaves an input or closes.
 *
 * @module
 */
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import './style.css'
import { getJson, session } from './api.ts'
import { ClusterView } from './cluster.tsx'
import { advance, EMPTY, healthOf, memberLabel, type ClusterState, type UiCluster } from './cluster-model.ts'
import { formatCount } from './format.ts'
import { usePoll, useSession } from './hooks.ts'
import { KeysView } from './keys.tsx'
import { LeasesView } from './leases.tsx'
import { LoginDialog } from './login.tsx'
import { WatchView } from './watch.tsx'

const VIEWS = [
  { id: 'cluster', title: 'Cluster' },
  { id: 'keys', title: 'Keys' },
  { id: 'watch', title: 'Watch' },
  { id: 'leases', title: 'Leases & services' },
] as const

type ViewId = (typeof VIEWS)[number]['id']

function fromHash(): ViewId {
  const id = location.hash.replace(/^#\/?/, '')
  return VIEWS.find((v) => v.id === id)?.id ?? 'cluster'
}

function App() {
  const auth = useSession()
  const [view, setView] = useState<ViewId>(fromHash)
  const [cluster, setCluster] = useState<ClusterState>(EMPTY)
  const [clusterError, setClusterError] = useState('')
  const [visited, setVisited] = useState<ReadonlySet<ViewId>>(() => new Set([fromHash()]))
  useEffect(() => setVisited((old) => (old.has(view) ? old : new Set([...old, view]))), [view])

  usePoll(
    async (signal) => {
      try {
        const snapshot = await getJson<UiCluster>('/ui/api/cluster', signal)
        setCluster((s) => advance(s, snapshot))
        setClusterError('')
      } catch (e) {
        if (!signal.aborted) setClusterError(e instanceof Error ? e.message : String(e))
      }
    },
    1000,
    [],
  )

  useEffect(() => {
    const onHash = (): void => setView(fromHash())
    window.addEventListener('hashchange', onHash)
    const onKey = (e: KeyboardEvent): void => {
      const t = e.target as HTMLElement
      if (e.ctrlKey || e.metaKey || e.altKey || t.closest('input, textarea, select, [role=dialog]') !== null) return
      const n = Number(e.key)
      if (Number.isInteger(n) && n >= 1 && n <= VIEWS.length) {
        location.hash = VIEWS[n - 1]?.id ?? 'cluster'
        e.preventDefault()
      } else if (e.key === '/') {
        document.querySelector<HTMLInputElement>('main .view-slot:not([hidden]) [data-primary]')?.focus()
        e.preventDefault()
      }
    }
    window.addEventListener('keydown', onKey)
    return () => {
      window.removeEventListener('hashchange', onHash)
      window.removeEventListener('keydown', onKey)
    }
  }, [])

  const snapshot = cluster.snapshot
  const members = snapshot?.members ?? []
  const leader = members.find((m) => m.id === cluster.leaderId)
  const healthy = members.filter((m) => healthOf(m).ok).length
  const revision = members.reduce((max, m) => Math.max(max, Number(m.status?.revision ?? 0)), 0)

  return (
    <>
      <header class="top">
        <span class="brand">edgecd</span>
        <nav class="tabs" role="tablist" aria-label="Views">
          {VIEWS.map((v, i) => (
            <a
              key={v.id}
              href={`#${v.id}`}
              role="tab"
              aria-selected={view === v.id}
              class={view === v.id ? 'tab active' : 'tab'}
              data-testid={`tab-${v.id}`}
            >
              {v.title} <kbd>{i + 1}</kbd>
            </a>
          ))}
        </nav>
        <div class="summary num" data-testid="summary">
          <span>
            leader{' '}
            <b data-testid="leader-name">{cluster.leaderId === '' ? (snapshot === null ? '…' : 'none') : memberLabel(leader, cluster.leaderId)}</b>
          </span>
          <span>
            term <b>{cluster.term || '–'}</b>
          </span>
          <span>
            rev <b>{revision > 0 ? formatCount(revision) : '–'}</b>
          </span>
          <span class={healthy === members.length && members.length > 0 ? 'ok' : 'bad'}>
            {healthy}/{members.length} healthy
          </span>
        </div>
        <div class="user">
          {auth.token !== null ? (
            <>
              <span class="muted" data-testid="user">
                {auth.user}
              </span>{' '}
              <button type="button" class="link" onClick={() => session.logout()}>
                Log out
              </button>
            </>
          ) : (
            <button type="button" class="link" onClick={() => session.requireLogin()} data-testid="login-button">
              Log in
            </button>
          )}
        </div>
      </header>
      <main>
        {/* A view stays mounted once opened, so a running watch or a browsed prefix survives a switch. */}
        <div class="view-slot" hidden={view !== 'cluster'}>
          <ClusterView state={cluster} error={clusterError} />
        </div>
        {VIEWS.filter((v) => v.id !== 'cluster' && visited.has(v.id)).map((v) => (
          <div class="view-slot" key={v.id} hidden={view !== v.id}>
            {v.id === 'keys' ? <KeysView /> : v.id === 'watch' ? <WatchView /> : <LeasesView active={view === 'leases'} />}
          </div>
        ))}
      </main>
      <footer class="hints muted">
        <kbd>1</kbd>–<kbd>4</kbd> views · <kbd>/</kbd> search · <kbd>↑</kbd>
        <kbd>↓</kbd> move · <kbd>Enter</kbd> open · <kbd>Esc</kbd> close
      </footer>
      {auth.loginNeeded && <LoginDialog />}
    </>
  )
}

render(<App />, document.getElementById('app') as HTMLElement)
