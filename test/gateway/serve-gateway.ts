/**
 * Serves a gateway app over real HTTP on 127.0.0.1 (a free port) for tests, and closes it with
 * every connection it holds. Also the shape the shared gateway suite (gateway.suite.ts) runs
 * against: a {@link StartGateway} (this Node one, or wrangler-harness.ts's Worker under workerd)
 * and the tests that do not apply to a runtime, each with its reason.
 *
 * @module
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { serve } from '@hono/node-server'
import { createGatewayApp, fetchExchange, type GatewayOptions } from '../../src/gateway/index.ts'
import { createNodeGateway, type NodeGatewayOptions } from '../../src/gateway/node-server.ts'

export interface RunningGateway {
  readonly url: string
  close(): Promise<void>
}

/** Starts one gateway in front of the given members; the suite closes what it starts. */
export type StartGateway = (options: GatewayOptions) => Promise<RunningGateway>

/** Test name → why this runtime cannot run it (shown as the test's SKIP reason). */
export type NotApplicable = Readonly<Record<string, string>>

export function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const app = createGatewayApp(options)
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done())
            server.closeAllConnections()
          }),
      })
    }) as Server
  })
}

/**
 * The gateway as workers/gateway-node.ts serves it (node:http with the unary fast path and the
 * members' keep-alive pool), on a free port. A test's injected `fetch` reaches the members through
 * the fetch exchange instead of the pool.
 */
export function startNodeGateway(options: NodeGatewayOptions): Promise<RunningGateway> {
  const gateway = createNodeGateway(options.fetch === undefined ? options : { ...options, exchange: fetchExchange(options.fetch) })
  const server = createServer(gateway.listener)
  return new Promise<RunningGateway>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done())
            server.closeAllConnections()
            gateway.close()
          }),
      })
    })
  })
}

/** POSTs a JSON body and returns the status and the parsed answer. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers })
  const text = await res.text()
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text), headers: res.headers }
}

/**
 * A suite's `test`: registers the test unless this runtime lists it as not applicable (with the
 * reason, kept next to the runtime's suite run); records every name it saw.
 */
export type SuiteTest = (name: string, fn: () => Promise<void>) => void

export function suiteTest(notApplicable: NotApplicable, seen: Set<string>): SuiteTest {
  return (name, fn) => {
    seen.add(name)
    if (notApplicable[name] === undefined) test(name, fn)
  }
}
