/**
 * The gateway as a Worker (wrangler.toml's `main`). Its settings come from the Worker's env
 * (`EDGECD_ENDPOINTS="http://m1:2381,http://m2:2382"`; see src/gateway/config.ts). The app is
 * kept per isolate, so its leader cache outlives one request.
 *
 * @module
 */
import type { ExecutionContext, Hono } from 'hono'
import { upgradeWebSocket } from 'hono/cloudflare-workers'
import { createGatewayApp, gatewayOptionsFromEnv, type GatewayEnv } from '../src/gateway/index.ts'

let cached: { readonly env: string; readonly app: Hono } | undefined

export default {
  fetch(request: Request, env: GatewayEnv, ctx: ExecutionContext): Response | Promise<Response> {
    const settings = [
      'EDGECD_ENDPOINTS', 'EDGECD_REQUEST_TIMEOUT_MS', 'EDGECD_AUTO_SYNC', 'EDGECD_AUTH_FAILURE_LIMIT',
      'EDGECD_AUTH_FAILURE_WINDOW_MS',
    ]
    const key = JSON.stringify(settings.map((name) => env[name]))
    if (cached?.env !== key) cached = { env: key, app: createGatewayApp({ ...gatewayOptionsFromEnv(env), upgradeWebSocket, uncompressedStreams: true }) }
    return cached.app.fetch(request, env, ctx)
  },
}
