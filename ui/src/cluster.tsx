/**
 * The Cluster view: members with role, health, raft term and indexes, revision and db size; live
 * charts of requests/s and WAL fsync latency; and the leader changes seen while the page is open.
 * Polls /ui/api/cluster once a second (cluster-model.ts turns the snapshots into rates).
 *
 * @module
 */
import { Chart } from './chart.tsx'
import { EMPTY, HISTORY, healthOf, roleOf, type ClusterState } from './cluster-model.ts'
import { formatBytes, formatClock, formatCount, hexId } from './format.ts'

export function ClusterView(props: { readonly state: ClusterState; readonly error: string }) {
  const { snapshot, points, events } = props.state ?? EMPTY
  const members = snapshot?.members ?? []
  return (
    <section class="view cluster" aria-label="Cluster">
      <div class="panel members-panel">
        <h2>
          Members <span class="muted">{snapshot === null ? 'loading…' : `as of ${formatClock(snapshot.time)}`}</span>
          {props.error !== '' && <span class="error-inline">{props.error}</span>}
        </h2>
        <table class="grid-table members" data-testid="members">
          <colgroup>
            <col class="c-name" />
            <col class="c-role" />
            <col class="c-health" />
            <col class="c-id" />
            <col class="c-endpoint" />
            <col class="c-num" />
            <col class="c-num" />
            <col class="c-num" />
            <col class="c-num" />
            <col class="c-size" />
          </colgroup>
          <thead>
            <tr>
              <th>Name</th>
              <th>Role</th>
              <th>Health</th>
              <th>ID</th>
              <th>Endpoint</th>
              <th class="r">Term</th>
              <th class="r">Raft index</th>
              <th class="r">Applied</th>
              <th class="r">Revision</th>
              <th class="r">DB size (in use)</th>
            </tr>
          </thead>
          <tbody>
            {members.map((m) => {
              const role = roleOf(m, props.state.leaderId)
              const health = healthOf(m)
              const s = m.status
              return (
                <tr key={m.endpoint || m.id} data-testid="member-row" data-role={role} data-name={m.name}>
                  <td class="strong">{m.name || '—'}</td>
                  <td>
                    <span class={`badge role-${role}`}>{role}</span>
                  </td>
                  <td>
                    <span class={health.ok ? 'ok' : 'bad'} title={health.text}>
                      {health.ok ? '● ' : '○ '}
                      {health.text}
                    </span>
                  </td>
                  <td class="mono">{hexId(m.id)}</td>
                  <td class="mono ellipsis" title={m.endpoint}>
                    {m.endpoint.replace(/^https?:\/\//, '')}
                  </td>
                  <td class="r num">{formatCount(s?.raftTerm)}</td>
                  <td class="r num">{formatCount(s?.raftIndex)}</td>
                  <td class="r num">{formatCount(s?.raftAppliedIndex)}</td>
                  <td class="r num">{formatCount(s?.revision)}</td>
                  <td class="r num">
                    {s === undefined ? '–' : `${formatBytes(s.dbSize)} (${formatBytes(s.dbSizeInUse)})`}
                  </td>
                </tr>
              )
            })}
            {Array.from({ length: Math.max(0, 3 - members.length) }, (_, i) => (
              <tr key={`empty-${i}`} class="placeholder">
                <td colSpan={10}>&nbsp;</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="charts">
        <div class="panel">
          <Chart
            title="Throughput /s"
            unit="/s"
            slots={HISTORY}
            testId="chart-throughput"
            series={[
              { label: 'requests', tone: 's0', values: points.map((p) => p.requests) },
              { label: 'entries applied', tone: 's1', values: points.map((p) => p.applied) },
            ]}
          />
        </div>
        <div class="panel">
          <Chart
            title="Commit latency: WAL fsync"
            unit="ms"
            slots={HISTORY}
            testId="chart-latency"
            series={[
              { label: 'mean ms', tone: 's2', values: points.map((p) => p.fsyncMean) },
              { label: 'p99 ms', tone: 's3', values: points.map((p) => p.fsyncP99) },
            ]}
          />
        </div>
      </div>
      <div class="panel events-panel">
        <h2>Leader changes</h2>
        <ol class="events" data-testid="leader-events">
          {events.map((e, i) => (
            <li key={`${e.time}-${i}`}>
              <span class="num muted">{formatClock(e.time)}</span> {e.text}
            </li>
          ))}
        </ol>
      </div>
      <div class="panel counters-panel">
        <h2>
          Counters <span class="muted small">since each member started</span>
        </h2>
        <table class="grid-table" data-testid="counters">
          <thead>
            <tr>
              <th>Member</th>
              <th class="r">Leaders seen</th>
              <th class="r">Applied</th>
              <th class="r">Failed</th>
              <th class="r">Pending</th>
              <th class="r">Watchers</th>
              <th class="r">Fsyncs</th>
            </tr>
          </thead>
          <tbody>
            {members.map((m) => {
              const x = m.metrics
              return (
                <tr key={m.endpoint || m.id}>
                  <td class="strong">{m.name || hexId(m.id)}</td>
                  <td class="r num">{x ? formatCount(x.leaderChanges) : '–'}</td>
                  <td class="r num">{x ? formatCount(x.applied) : '–'}</td>
                  <td class="r num">{x ? formatCount(x.failedProposals) : '–'}</td>
                  <td class="r num">{x ? formatCount(x.pendingProposals) : '–'}</td>
                  <td class="r num">{x ? formatCount(x.watchers) : '–'}</td>
                  <td class="r num">{x ? formatCount(x.fsync.count) : '–'}</td>
                </tr>
              )
            })}
          </tbody>
        </table>
      </div>
    </section>
  )
}
