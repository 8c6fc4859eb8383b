/**
 * The gateway under Node: the same app as workers/gateway.ts, served from node:http by
 * src/gateway/node-server.ts (unary API calls straight to the gateway's core, everything else
 * through @hono/node-server, WebSocket upgrades too), reaching the members over their call
 * channels (src/gateway/channel-exchange.ts) and a keep-alive connection pool
 * (src/gateway/node-exchange.ts); and etcd's gRPC API on the same port (src/grpc: unary calls
 * carried as protobuf over the call channels, or as JSON; streams by the app as JSON;
 * grpc-listener.ts tells the protocols apart).
 *
 *   node --import tsx workers/gateway-node.ts --listen 127.0.0.1:2379 --endpoints http://127.0.0.1:2381,… [--processes 2]
 *
 * With `--processes N` (N > 1) this process only supervises N others that run this same file
 * with the same flags and share the port (src/gateway/node-processes.ts).
 *
 * Flags win over EDGECD_LISTEN / EDGECD_ENDPOINTS (and the other EDGECD_* variables of
 * src/gateway/config.ts). Logs one line when it listens; SIGTERM/SIGINT close it and exit 0.
 *
 * @module
 */
import cluster from 'node:cluster'
import { createServer, type Server, type ServerOptions } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import { createAdaptorServer, upgradeWebSocket } from '@hono/node-server'
import { WebSocketServer } from 'ws'
import { bearerOnly, MAX_HEADER_BYTES, MAX_HELD_REQUEST_BYTES } from '../src/api/index.ts'
import { gatewayOptionsFromEnv, gatewayProcessesFromEnv, MAX_PROCESSES, parseListen, type GatewayOptions } from '../src/gateway/index.ts'
import { superviseGatewayProcesses } from '../src/gateway/node-processes.ts'
import { createGrpcFront } from '../src/grpc/grpc-front.ts'
import { sharedPort } from '../src/grpc/grpc-listener.ts'
import { gatewayGrpcCalls } from '../src/gateway/grpc-direct.ts'
import { createNodeGateway } from '../src/gateway/node-server.ts'
import { serveOtherUpgradesPlainly } from '../src/grpc/other-upgrades.ts'
import { useUntimedFetch } from '../src/client/untimed-fetch.ts'

// A stream passed on (a watch without events for long) lasts as long as the call.
useUntimedFetch()

const USAGE = `usage: node --import tsx workers/gateway-node.ts [flags]   (or node dist/gateway.mjs [flags])
  --listen HOST:PORT     where it serves the JSON API and etcd's gRPC API (EDGECD_LISTEN; default 127.0.0.1:2379)
  --endpoints URL,URL    the members' client URLs (EDGECD_ENDPOINTS; required)
  --processes N          processes serving the port, 1 to ${MAX_PROCESSES} (EDGECD_PROCESSES; default 1)
  --help                 this text
variables only:
  EDGECD_REQUEST_TIMEOUT_MS      deadline of one request, retries included (default 5000)
  EDGECD_AUTO_SYNC               true: follow member/list for the endpoint list (default false)
  EDGECD_AUTH_FAILURE_LIMIT      failed logins per client address in the window (default 49; 0: off)
  EDGECD_AUTH_FAILURE_WINDOW_MS  that window (default 10000)`

try {
  const { values } = parseArgs({
    options: { listen: { type: 'string' }, endpoints: { type: 'string' }, processes: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  })
  if (values.help === true) {
    console.log(USAGE)
    process.exit(0)
  }
  const flagged = {
    ...(values.endpoints === undefined ? {} : { EDGECD_ENDPOINTS: values.endpoints }),
    ...(values.processes === undefined ? {} : { EDGECD_PROCESSES: values.processes }),
  }
  const env = { ...process.env, ...flagged }
  const options = gatewayOptionsFromEnv(env)
  const processes = gatewayProcessesFromEnv(env)
  const { host, port } = parseListen(values.listen ?? process.env['EDGECD_LISTEN'] ?? '127.0.0.1:2379')
  const members = options.endpoints.join(',')
  // An IPv6 address is bracketed in a URL.
  const shown = host.includes(':') ? `[${host}]` : host
  const listening = (at: number, what: string): string => `edgecd gateway listening on http://${shown}:${at} (HTTP and gRPC), members ${members}${what}`
  if (processes > 1 && cluster.isPrimary) {
    superviseGatewayProcesses({ count: processes, log: (line) => console.log(line), listening: (at) => listening(at, `, ${processes} processes`) })
  } else {
    serve(options, host, port, (at) => (cluster.isWorker ? undefined : listening(at, '')))
  }
} catch (error) {
  console.error(`edgecd gateway: ${error instanceof Error ? error.message : String(error)} (--help lists the flags)`)
  process.exit(2)
}

/** Serves the gateway on host:port until SIGTERM/SIGINT; `listening` gives the line to log once it listens (none: undefined). */
function serve(options: GatewayOptions, host: string, port: number, listening: (port: number) => string | undefined): void {
  const gateway = createNodeGateway({ ...options, upgradeWebSocket })
  // node:http with the gateway's listener; WebSocket upgrades (the API over WebSocket) go to the app.
  const http = createAdaptorServer({
    fetch: gateway.gateway.app.fetch,
    websocket: { server: new WebSocketServer({ noServer: true, maxPayload: MAX_HELD_REQUEST_BYTES, handleProtocols: bearerOnly }) },
    createServer: ((serverOptions: ServerOptions) => createServer({ ...serverOptions, maxHeaderSize: MAX_HEADER_BYTES }, gateway.listener)) as typeof createServer,
  }) as Server
  serveOtherUpgradesPlainly(http)
  // etcd's gRPC API on the same port (grpc-front.ts): unary calls as the listener carries them
  // (grpc-direct.ts: protobuf over a call channel, JSON over HTTP), the rest by the app as JSON.
  const shared = sharedPort(http, () =>
    createGrpcFront(
      async (request, client) => gateway.gateway.app.fetch(request, { incoming: { socket: client ?? {} } }),
      gatewayGrpcCalls(gateway.gateway),
    ),
  )
  shared.server.listen(port, host, () => {
    const line = listening((shared.server.address() as AddressInfo).port)
    if (line !== undefined) console.log(line)
  })
  const stop = (signal: string): void => {
    // (A worker's primary says it once for all.)
    if (!cluster.isWorker) console.log(`edgecd gateway: ${signal}, closing`)
    shared.close(() => process.exit(0))
    gateway.close()
  }
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))
}
