/**
 * A member configured as an etcd is, through etcd's `ETCD_*` variables only (the way a systemd
 * unit or `etcdctl member add`'s output sets one up): peers on a port of their own, a metrics
 * port (--listen-metrics-urls) serving /metrics and /health and nothing else, log lines to a
 * file and stderr (--log-outputs), and a warning naming the `ETCD_*` variable it does not take.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { killOnExit } from '../kill-on-exit.ts'
import { call, eventually, freePort, post } from '../e2e/cluster-harness.ts'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))

test('a member set up by ETCD_* variables: peer port, metrics port, log outputs, and a warning for a variable it does not take', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'edgecd-etcd-env-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const [client, peer, metrics] = [await freePort(), await freePort(), await freePort()].map((p) => `http://127.0.0.1:${p}`) as [string, string, string]
  const logFile = join(dir, 'logs', 'member.log')
  const env = {
    ...process.env,
    ETCD_NAME: 'infra0',
    ETCD_DATA_DIR: join(dir, 'infra0'),
    ETCD_LISTEN_CLIENT_URLS: client,
    ETCD_LISTEN_PEER_URLS: peer,
    ETCD_LISTEN_METRICS_URLS: metrics,
    ETCD_INITIAL_CLUSTER: `infra0=${peer}`,
    ETCD_INITIAL_CLUSTER_STATE: 'new',
    ETCD_HEARTBEAT_INTERVAL: '50',
    ETCD_ELECTION_TIMEOUT: '500',
    ETCD_LOGGER: 'zap',
    ETCD_LOG_OUTPUTS: `${logFile},stderr`,
    ETCD_ENABLE_PPROF: 'true',
  }
  let stderr = ''
  let stdout = ''
  const child = killOnExit(spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'workers', 'member.ts')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  t.after(async () => {
    child.kill('SIGKILL')
    await exited
  })

  await eventually('the member answers on its client URL', async () => {
    assert.equal(child.exitCode, null, `the member exited:\n${stderr}`)
    assert.equal((await call(client, '/v3/kv/put', { key: btoa('k'), value: btoa('v') })).header.member_id !== undefined, true)
  }, { timeoutMs: 30_000 })
  const list = await call(client, '/v3/cluster/member/list')
  assert.deepEqual(list.members[0].peerURLs, [peer])

  // The metrics port: /metrics and /health, nothing of the API.
  const health = await post(metrics, '/health', undefined, { method: 'GET' })
  assert.deepEqual([health.status, health.json], [200, { health: 'true' }])
  const text = (await post(metrics, '/metrics', undefined, { method: 'GET' })).text
  assert.match(text, /^etcd_server_has_leader 1$/m)
  assert.equal((await post(metrics, '/v3/kv/range', { key: btoa('k') })).status, 404)

  // Log lines went to the file and to stderr, none to stdout; the unknown variable was named.
  await eventually('the log file has the start lines', () => {
    const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; variables?: string[] })
    assert.ok(lines.some((l) => l.msg === 'serving metrics and health'), 'the metrics listener is logged')
    const warning = lines.find((l) => l.variables !== undefined)
    assert.deepEqual(warning?.variables, ['ETCD_ENABLE_PPROF'])
  })
  assert.match(stderr, /"serving peers"/)
  assert.equal(stdout, '')
})
