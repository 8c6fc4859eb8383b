/**
 * Serves a gateway app over real HTTP on 127.0.0.1 (a free port) for tests, and closes it with
 * every connection it holds.
 *
 * @module
 */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { createGatewayApp, type GatewayOptions } from '../../src/gateway/index.ts'

export interface RunningGateway {
  readonly url: string
  close(): Promise<void>
}

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

/** POSTs a JSON body and returns the status and the parsed answer. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers })
  const text = await res.text()
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) }
}
