/**
 * A member process under Node (run with tsx), configured with etcd's flag names or EDGECD_*
 * variables (see src/member/config.ts):
 *
 *   node --import tsx workers/member.ts --name m1 --listen-client-urls http://127.0.0.1:2381 \
 *     --initial-cluster m1=http://127.0.0.1:2381,m2=http://127.0.0.1:2382 --data-dir ./data/m1
 *
 * It listens on every URL of --listen-client-urls, serving clients and peers there, or only
 * clients when --listen-peer-urls gives peers URLs of their own (each listener: servedAs, listen).
 *
 * The only place real implementations are picked: the node:fs disk, the ws mesh served through
 * @hono/node-server, the wall clock, Math.random for election jitter, pino for logs.
 * SIGTERM/SIGINT stop it cleanly; a storage failure or removal from the cluster exits non-zero.
 * Dropped database buffers are freed by a major GC once they add up (src/member/buffer-reclaim.ts).
 * On https URLs it serves TLS with --cert-file or --peer-cert-file, and dials https peers over wss
 * (src/member/tls.ts); every port also serves etcd's gRPC API (src/grpc), over TLS too, as etcd's does.
 * Slow clients: request headers must arrive within 10 s, unary request bodies within 30 s
 * (http-body.ts); streams and idle connections have no time limit (grpc-listener.ts).
 *
 * With `EDGECD_EXIT_WITH_PARENT=1` it also stops when its stdin ends, which a parent that spawned
 * it with a stdin pipe uses to take it down with itself, however it dies (src/member/exit-with-parent.ts;
 * the test harnesses do); a clean stop that takes longer than 5 s becomes an exit 1.
 *
 * Test-only storage faults (off unless set; used by test/chaos): `EDGECD_FAULT_DISK=slow:<ms>`
 * delays every fsync (and atomic write) by that many milliseconds; `EDGECD_FAULT_DISK=eio-after:<n>`
 * lets n more fsyncs succeed, then fails every later one with EIO (the member must stop). A trailing
 * `,off` starts the fault disarmed; SIGUSR2 arms or disarms it, so a test can bound it in time.
 * The handler is set as the member starts: a SIGUSR2 before then ends the process (Node's default
 * action), so a test signals only a member that already answers.
 *
 * @module
 */
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server, type ServerOptions } from 'node:http'
import { readFileSync } from 'node:fs'
import { createServer as createHttpsServer } from 'node:https'
import type { Server as NetServer } from 'node:net'
import { createAdaptorServer, getRequestListener, upgradeWebSocket } from '@hono/node-server'
import { pino, type DestinationStream } from 'pino'
import initSqlJs from 'sql.js'
import type { Hono } from 'hono'
import { WebSocketServer } from 'ws'
import { bearerOnly, MAX_HEADER_BYTES } from '../src/api/index.ts'
import { createGrpcFront } from '../src/grpc/grpc-front.ts'
import { sharedPort, useEtcdTimeouts } from '../src/grpc/grpc-listener.ts'
import { createPeerRoute, DEFAULT_MAX_FRAME_BYTES, WsMesh } from '../src/mesh/index.ts'
import { DiskError, MeteredDisk, NodeDisk, type Disk } from '../src/storage/index.ts'
import {
  AuthGate, connectionOf, createMemberApp, DEFAULT_FAILURE_LIMITS, DEFAULT_SECURITY, dialTls, fetchMembersOver,
  guardPeerRoute, incomingConnection, MEMBER_USAGE, memberFetch, MemberMetrics, MemberRemovedError, openMember, parseMemberConfig, realClock, serverTls,
  callChannelRoute, createMetricsApp, createPeerApp, directGrpcCalls, jwtKeys, unknownEtcdVariables, withUnaryFastPath, type Connection, type ListenerRole, type Member, type MemberContext,
} from '../src/member/index.ts'
import { exitWithParent } from '../src/member/exit-with-parent.ts'
import { startBufferReclaim } from '../src/member/buffer-reclaim.ts'
import { nodeProcessVars } from '../src/member/process-vars.ts'
import { serveOtherUpgradesPlainly } from '../src/grpc/other-upgrades.ts'
import { useUntimedFetch } from '../src/client/untimed-fetch.ts'

// A forward to the leader (a lock waiting, a keepalive stream) lasts as long as the call.
useUntimedFetch()

const config = (() => {
  const argv = process.argv.slice(2)
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(MEMBER_USAGE)
    process.exit(0)
  }
  try {
    return parseMemberConfig(argv, process.env)
  } catch (err) {
    console.error(`edgecd member: ${(err as Error).message} (--help lists the flags)`)
    process.exit(2)
  }
})()
/** Where log lines go (--log-outputs): standard output by default, else each output given. */
function logDestination(outputs: readonly string[]): DestinationStream | undefined {
  if (outputs.length === 1 && outputs[0] === 'stdout') return undefined
  const streams = outputs.map((o) => pino.destination({ dest: o === 'stdout' ? 1 : o === 'stderr' ? 2 : o, append: true, mkdir: true, sync: true }))
  return streams.length === 1 ? streams[0] : pino.multistream(streams.map((stream) => ({ stream, level: 'trace' as const })))
}
const log = (() => {
  try {
    const level = config.logLevel === 'panic' ? 'fatal' : config.logLevel
    return pino({ level, base: { member: config.name } }, logDestination(config.logOutputs) as DestinationStream)
  } catch (err) {
    console.error(`edgecd member: --log-outputs: ${(err as Error).message}`)
    process.exit(2)
  }
})()
const unknownVariables = unknownEtcdVariables(process.env)
if (unknownVariables.length > 0) log.warn({ variables: unknownVariables }, 'ignored: etcd variables that name no flag of edgecd')
if (config.ineffectiveFlags.length > 0) log.warn({ flags: config.ineffectiveFlags }, 'taken without effect: etcd tuning that edgecd has no use for (see --help)')
const security = config.security ?? DEFAULT_SECURITY
/** Clients and peers on one port, or each on their own (--listen-peer-urls). */
const roles: readonly ListenerRole[] = config.listenPeerUrls === null ? ['shared'] : ['client', 'peer']
const tls = (() => {
  try {
    const server = new Map(roles.map((role) => [role, serverTls(security, role)]))
    // A metrics URL is served as a client URL is (on one port for both, with its certificate).
    const metrics = config.listenMetricsUrls.some((u) => u.startsWith('https:'))
      ? (serverTls(security, 'client') ?? server.get('shared') ?? null)
      : null
    return { server, metrics, dial: dialTls(security) }
  } catch (err) {
    console.error(`edgecd member: cannot read the TLS files: ${(err as Error).message}`)
    process.exit(2)
  }
})()
const memberToMember = memberFetch(tls.dial)
/** etcd's JWT keys (--auth-token jwt,sign-method=…,priv-key=…), read once. */
const jwt = security.jwt === null
  ? null
  : await jwtKeys(security.jwt, (path) => readFileSync(path)).catch((err: Error) => {
    console.error(`edgecd member: --auth-token: cannot read the jwt keys: ${err.message}`)
    process.exit(2)
  })
const reclaim = startBufferReclaim()
let member: Member | null = null
const VERSIONS = { server: '3.4.23', cluster: '3.4.0' }
const metrics = new MemberMetrics(() => member, VERSIONS)

/** Wraps `disk` in the fault `EDGECD_FAULT_DISK` names (see the module doc); unset: `disk` itself. */
function withDiskFault(disk: Disk, spec: string | undefined): Disk {
  if (spec === undefined || spec === '') return disk
  const m = /^(slow|eio-after):(\d+)(?:ms)?(,off)?$/.exec(spec)
  if (m === null) {
    console.error(`edgecd member: EDGECD_FAULT_DISK: expected slow:<ms> or eio-after:<n>, got ${spec}`)
    process.exit(2)
  }
  let armed = m[3] === undefined
  let left = Number(m[2])
  process.on('SIGUSR2', () => (armed = !armed))
  const fault = async (op: string, path: string): Promise<void> => {
    if (!armed) return
    if (m[1] === 'slow') await new Promise((r) => setTimeout(r, Number(m[2])))
    else if (left-- <= 0) throw new DiskError('EIO', op, path)
  }
  return {
    append: (path, data) => disk.append(path, data),
    fsync: async (path) => {
      await fault('fsync', path)
      await disk.fsync(path)
    },
    fsyncDir: async (dir) => {
      await fault('fsyncDir', dir)
      await disk.fsyncDir(dir)
    },
    read: (path) => disk.read(path),
    // Kept so that storage reads the checkpoint back for snapshots instead of holding a copy.
    ...(disk.readSync === undefined ? {} : { readSync: (path: string) => (disk.readSync as (p: string) => Uint8Array).call(disk, path) }),
    writeAtomic: async (path, data) => {
      await fault('writeAtomic', path)
      await disk.writeAtomic(path, data)
    },
    truncate: (path, size) => disk.truncate(path, size),
    list: (dir) => disk.list(dir),
    remove: (path) => disk.remove(path),
    exists: (path) => disk.exists(path),
    mkdir: (dir) => disk.mkdir(dir),
    lock: (path) => disk.lock(path),
    close: () => disk.close(),
  }
}

const disk = new MeteredDisk(withDiskFault(new NodeDisk(), process.env['EDGECD_FAULT_DISK']), {
  now: () => performance.now(),
  onFsync: (kind, ms) => kind === 'file' && metrics.fsync.observe(ms / 1000),
})
/** Each listener's server, and what stops it (with gRPC on its port, dropping every connection it took). */
const listeners: Array<{ readonly server: Server; readonly close: () => void }> = []
const exit = async (code: number, why: string): Promise<void> => {
  log.info({ why }, 'stopping')
  for (const { server } of listeners) server.closeAllConnections()
  await member?.stop().catch((err: Error) => log.error({ err: err.message }, 'stop failed'))
  for (const { close } of listeners) close()
  process.exit(code)
}
exitWithParent(process.env, process.stdin, {
  stop: () => void exit(0, 'stdin ended: the parent process is gone'),
  force: () => process.exit(1),
  graceMs: 5000,
})

try {
  member = await openMember(
    config,
    {
      clock: realClock,
      rand: (n) => Math.floor(Math.random() * n),
      disk,
      sql: await initSqlJs(),
      log,
      mesh: (identity) =>
        new WsMesh({
          id: identity.memberId,
          clusterToken: config.initialClusterToken,
          clusterId: String(identity.clusterId),
          peers: new Map(),
          log: (event, fields) => log.debug(fields, `mesh: ${event}`),
          tls: tls.dial,
          onRoundTrip: metrics.peerRoundTrip,
        }),
      fetchMembers: fetchMembersOver(memberToMember),
    },
    {},
    {
      ...metrics.events(),
      // Removed: as etcd, exit 0 (a supervisor must not start it again), saying what to do.
      onFatal: (err) =>
        void (err instanceof MemberRemovedError
          ? exit(0, `${err.message}; the data-dir used by this member must be removed`)
          : exit(1, err.message)),
      onCheckpointed: () => reclaim.afterCheckpoint(),
    },
  )
} catch (err) {
  log.error({ err: (err as Error).message }, 'cannot start')
  process.exit(1)
}
const context: MemberContext = {
  actor: member.actor,
  identity: member.identity,
  limits: { maxRequestBytes: config.maxRequestBytes, maxTxnOps: config.maxTxnOps },
  clusterToken: config.initialClusterToken,
  versions: VERSIONS,
  auth: new AuthGate(
    {
      tokens: {
        mode: security.authToken,
        ttlMs: security.jwt?.ttlMs ?? security.authTokenTtlMs,
        key: security.authTokenKey,
        ...(jwt === null ? {} : { jwt }),
      },
      failures: DEFAULT_FAILURE_LIMITS,
    },
    realClock.now,
  ),
  streams: { maxWatchers: security.maxWatchersPerStream, maxLeases: security.maxLeasesPerStream },
  fetch: memberToMember,
  bcryptCost: config.bcryptCost,
}
const onRequest = metrics.observeRequest
const peerRoute = guardPeerRoute(createPeerRoute(upgradeWebSocket, member.mesh as WsMesh), security)

/**
 * The app a client port serves: the whole API and the gateways' call channel, and on one port for
 * all (`shared`) the mesh too.
 */
function servedAs(role: 'shared' | 'client'): { app: Hono; connection: (incoming: IncomingMessage | null) => Connection } {
  const connection = incomingConnection(security, role)
  const app: Hono = createMemberApp({
    member: context,
    ...(role === 'shared' ? { peerRoute } : {}),
    // A gateway's calls, many to a message (src/member/call-channel.ts); the rest of them by the app.
    callChannel: callChannelRoute(context, upgradeWebSocket, { connection, onRequest, serve: (request, env) => app.fetch(request, env) }),
    upgradeWebSocket,
    metrics: () => metrics.render(),
    processVars: nodeProcessVars,
    setLogLevel: (level) => (log.level = level),
    onRequest,
    onStreamEnd: metrics.streamEnded,
    connection: connectionOf(security, role),
  })
  return { app, connection }
}

/**
 * A peer port of its own: the mesh and what members ask each other (src/member/peer-app.ts), over
 * HTTP/1.1 alone (no gRPC), with the peer port's TLS on an https URL.
 */
function listenPeer(href: string, app: Hono): void {
  const url = new URL(href)
  const serverTlsOptions = url.protocol === 'https:' ? tls.server.get('peer') : null
  const server = createAdaptorServer({
    fetch: app.fetch,
    websocket: { server: new WebSocketServer({ noServer: true, maxPayload: DEFAULT_MAX_FRAME_BYTES }) },
    ...(serverTlsOptions === null || serverTlsOptions === undefined ? {} : { createServer: createHttpsServer, serverOptions: serverTlsOptions }),
  }) as Server
  // Forwarded keepalive and watch streams live as long as their clients' (and no 5-minute cut).
  useEtcdTimeouts(server)
  listeners.push({ server, close: () => server.close() })
  listenOn(server, url, 'peers')
}

/** Listens on `url`'s address with `server`, which serves `what`; a failure to listen stops the member. */
function listenOn(server: Server | NetServer, url: URL, what: string): void {
  server.on('error', (err: Error) => {
    log.error({ url: url.href, err: err.message }, 'cannot listen')
    void exit(1, `cannot listen on ${url.href}: ${err.message}`)
  })
  // An IPv6 address is bracketed in a URL, not where it is listened on.
  server.listen(Number(url.port), url.hostname.replace(/^\[(.*)\]$/, '$1'), () =>
    log.info({ url: url.href, id: member?.identity.memberId }, `serving ${what}`),
  )
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) && url.protocol === 'http:')
    log.warn({ url: url.href }, 'serving plain HTTP on a non-loopback address')
}

/** Serves `served` on `href`: HTTP/1.1 and etcd's gRPC API on one port, over TLS when configured. */
function listen(href: string, role: 'shared' | 'client', served: ReturnType<typeof servedAs>): void {
  const url = new URL(href)
  const { app, connection } = served
  const server = createAdaptorServer({
    fetch: app.fetch,
    websocket: { server: new WebSocketServer({ noServer: true, maxPayload: DEFAULT_MAX_FRAME_BYTES, handleProtocols: bearerOnly }) },
    // Unary calls are answered straight from node:http; the rest (streams, forwards, /health…) by the app.
    // (TLS, when on, is the shared port's: this server takes connections already decrypted.)
    createServer: ((options: ServerOptions, listener: RequestListener) =>
      createHttpServer({ ...options, maxHeaderSize: MAX_HEADER_BYTES }, withUnaryFastPath(context, listener, { connection, onRequest }))) as typeof createHttpServer,
  }) as Server
  serveOtherUpgradesPlainly(server)
  // etcd's gRPC API on the same port (src/grpc), each call carried by the app, the unary ones this
  // member answers itself straight from their decoded request.
  const shared = sharedPort(
    server,
    // The caller's connection stands in for node:http's request: its address, and its certificate's CN.
    () =>
      createGrpcFront(
        async (request, client) => app.fetch(request, { incoming: { socket: client ?? {}, headers: {} } }),
        directGrpcCalls(context, { connection, onRequest }),
      ),
    url.protocol === 'https:' ? (tls.server.get(role) ?? null) : null,
  )
  listeners.push({ server, close: () => shared.close(() => undefined) })
  listenOn(shared.server, url, role === 'shared' ? 'clients and peers' : `${role}s`)
}

for (const role of roles) {
  if (role === 'peer') {
    // The API behind it answers as on a client port, with the peer port's view of the caller.
    const api = createMemberApp({ member: context, processVars: nodeProcessVars, onRequest, onStreamEnd: metrics.streamEnded, connection: connectionOf(security, 'peer') })
    const app = createPeerApp(context, api, peerRoute)
    for (const href of config.listenPeerUrls ?? []) listenPeer(href, app)
    continue
  }
  const served = servedAs(role)
  for (const href of config.listenClientUrls) listen(href, role, served)
}
/**
 * --listen-metrics-urls: /metrics and /health only, on node:http alone (no gRPC, no WebSocket),
 * over TLS with the client certificate on an https URL.
 */
if (config.listenMetricsUrls.length > 0) {
  const listener = getRequestListener(createMetricsApp(context, () => metrics.render()).fetch)
  for (const href of config.listenMetricsUrls) {
    const url = new URL(href)
    const server = url.protocol === 'https:' ? createHttpsServer(tls.metrics ?? {}, listener) : createHttpServer(listener)
    useEtcdTimeouts(server)
    listeners.push({ server, close: () => server.close() })
    listenOn(server, url, 'metrics and health')
  }
}
member.start()
process.once('SIGTERM', () => void exit(0, 'SIGTERM'))
process.once('SIGINT', () => void exit(0, 'SIGINT'))
