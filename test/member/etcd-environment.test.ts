/**
 * A member configured as an etcd is, through etcd's `ETCD_*` variables only (the way a systemd
 * unit or `etcdctl member add`'s output sets one up): peers on a port of their own, a metrics
 * port (--listen-metrics-urls) serving /metrics and /health and nothing else, log lines to a
 * file and stderr (--log-outputs), and warnings naming the `ETCD_*` variable it does not take
 * and the etcd tuning it takes without effect; the watch progress interval and etcd's JWT
 * options (RS256 from an openssl-style key) it takes. An etcd
 * feature edgecd lacks, asked for, stops
 * the member at start with the reason.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { killOnExit } from '../kill-on-exit.ts'
import { call, eventually, freePort, LineStream, post } from '../e2e/cluster-harness.ts'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))

test('a member set up by ETCD_* variables: peer port, metrics port, log outputs, and a warning for a variable it does not take', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'edgecd-etcd-env-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const [client, peer, metrics] = [await freePort(), await freePort(), await freePort()].map((p) => `http://127.0.0.1:${p}`) as [string, string, string]
  const logFile = join(dir, 'logs', 'member.log')
  // An RSA key as `openssl genrsa` writes it, for etcd's JWT options.
  const jwtKey = join(dir, 'jwt.key')
  writeFileSync(jwtKey, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs1' }))
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
    // etcd 3.5's, not a flag of edgecd: warned of.
    ETCD_EXPERIMENTAL_MAX_LEARNERS: '2',
    // Tuning edgecd has no use for, at a value other than etcd's default: warned of; at the default: not.
    ETCD_MAX_WALS: '10',
    ETCD_MAX_SNAPSHOTS: '5',
    // A feature left off, as etcd's default: taken (Go's boolean spelling).
    ETCD_ENABLE_V2: 'FALSE',
    ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL: '300ms',
    ETCD_AUTH_TOKEN: `jwt,priv-key=${jwtKey},sign-method=RS256,ttl=10m`,
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

  // An idle watch with progress_notify hears the revision at the interval given (etcd's default: 10 minutes).
  const watch = await LineStream.open(client, '/v3/watch', { create_request: { key: btoa('idle'), progress_notify: true } })
  t.after(() => watch.close())
  assert.equal((await watch.next()).result.created, true)
  const started = Date.now()
  const progress = (await watch.next(5000)).result
  assert.deepEqual([progress.events, progress.header.revision], [undefined, '2'])
  assert.ok(Date.now() - started < 3000, `progress after ${Date.now() - started} ms`)

  // The metrics port: /metrics and /health, nothing of the API.
  const health = await post(metrics, '/health', undefined, { method: 'GET' })
  assert.deepEqual([health.status, health.json], [200, { health: 'true' }])
  const text = (await post(metrics, '/metrics', undefined, { method: 'GET' })).text
  assert.match(text, /^etcd_server_has_leader 1$/m)
  assert.equal((await post(metrics, '/v3/kv/range', { key: btoa('k') })).status, 404)

  // Tokens are RS256 JWTs living 10 minutes.
  for (const [path, body] of [
    ['/v3/auth/user/add', { name: 'root', password: 'rootpw' }],
    ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
    ['/v3/auth/enable', {}],
  ] as const)
    await call(client, path, body)
  const token = (await call(client, '/v3/auth/authenticate', { name: 'root', password: 'rootpw' })).token as string
  const [header, claims] = token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()))
  assert.equal(header.alg, 'RS256')
  assert.ok(Math.abs(claims.exp - (Date.now() / 1000 + 600)) < 30, `exp ${claims.exp}`)

  // Log lines went to the file and to stderr, none to stdout; the unknown variable was named.
  await eventually('the log file has the start lines', () => {
    const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; variables?: string[]; flags?: string[] })
    assert.ok(lines.some((l) => l.msg === 'serving metrics and health'), 'the metrics listener is logged')
    assert.deepEqual(lines.find((l) => l.variables !== undefined)?.variables, ['ETCD_EXPERIMENTAL_MAX_LEARNERS'])
    assert.deepEqual(lines.find((l) => l.flags !== undefined)?.flags, ['max-wals'])
  })
  assert.match(stderr, /"serving peers"/)
  assert.equal(stdout, '')
})

test('an etcd feature edgecd does not have, asked for, stops the member at start with the reason', { timeout: 30_000 }, async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'workers', 'member.ts'), '--name', 'x', '--force-new-cluster'], {
    cwd: ROOT,
    env: { ...process.env, ETCD_ENABLE_V2: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  killOnExit(child)
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)))
  assert.equal(code, 2)
  // Flags are checked in etcd-flags.ts order: the variable's enable-v2 comes before force-new-cluster.
  assert.match(stderr, /^edgecd member: --enable-v2=true is not supported by edgecd: only false: the v3 API alone is served \(--help lists the flags\)$/m)
})
