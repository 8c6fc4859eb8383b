/**
 * The dashboard's Prometheus reader (src/gateway/ui-metrics.ts): samples with and without labels,
 * escapes in label values, histograms summed over label sets, comments and junk skipped.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parsePrometheus, summarizeMetrics } from '../../src/gateway/ui-metrics.ts'

const TEXT = `# HELP etcd_server_proposals_applied_total Entries applied.
# TYPE etcd_server_proposals_applied_total counter
etcd_server_proposals_applied_total 42
etcd_server_leader_changes_seen_total 2
etcd_server_proposals_pending 1
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} 3
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.002"} 8
etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"} 10
etcd_disk_wal_fsync_duration_seconds_sum 0.0125
etcd_disk_wal_fsync_duration_seconds_count 10
edgecd_http_request_duration_seconds_count{path="/v3/kv/put",code="200"} 7
edgecd_http_request_duration_seconds_count{path="/v3/kv/range",code="200"} 5 1700000000000
weird{label="a \\"quoted\\" \\\\ value",x="1"} NaN
not a sample line
`

test('samples, labels and escapes', () => {
  const samples = parsePrometheus(TEXT)
  assert.equal(samples.length, 11)
  assert.deepEqual(samples.find((s) => s.name === 'weird')?.labels, { label: 'a "quoted" \\ value', x: '1' })
  assert.equal(samples.find((s) => s.name.endsWith('_bucket') && s.labels['le'] === '+Inf')?.value, 10)
  assert.ok(Number.isNaN(samples.find((s) => s.name === 'weird')?.value))
  assert.equal(samples.find((s) => s.labels['path'] === '/v3/kv/range')?.value, 5)
})

test('the summary the dashboard draws', () => {
  const m = summarizeMetrics(TEXT)
  assert.equal(m.applied, 42)
  assert.equal(m.leaderChanges, 2)
  assert.equal(m.pendingProposals, 1)
  assert.equal(m.requests, 12)
  assert.deepEqual(m.fsync, { count: 10, sum: 0.0125, buckets: [[0.001, 3], [0.002, 8]] })
  assert.doesNotThrow(() => JSON.stringify(m))
})
