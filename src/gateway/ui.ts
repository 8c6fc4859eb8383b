/**
 * The web dashboard, served by the gateway (so a Workers gateway serves it too):
 *
 *   GET /ui, /ui/          the page (UI_HTML)
 *   GET /ui/app.js         the bundled preact app (UI_JS; the page asks for ?v=<hash>)
 *   GET /ui/app.css        its styles (UI_CSS)
 *   GET /ui/api/cluster    a JSON snapshot of every member's status and metrics (ui-cluster.ts)
 *
 * Everything else the page does goes through the gateway's own etcd API under /v3 (with the
 * user's token, which the page keeps in memory only). The assets are strings bundled at build
 * time by `npm run build:ui` (ui/build.ts → ui-assets.generated.ts, not checked in); the checked
 * in ui-assets.generated.d.ts only gives them a type so `tsc` passes before the first build.
 *
 * @module
 */
import type { Hono } from 'hono'
import { UI_CSS, UI_HASH, UI_HTML, UI_JS } from './ui-assets.generated.ts'
import { clusterSnapshot, type UiClusterOptions } from './ui-cluster.ts'

/** Served with every dashboard asset: the page loads nothing from elsewhere. */
const PAGE_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
}

function asset(body: string, type: string, versioned: boolean): Response {
  return new Response(body, {
    headers: {
      ...PAGE_HEADERS,
      'content-type': type,
      // A request naming the current build's hash may be cached for good; anything else is revalidated.
      'cache-control': versioned ? 'public, max-age=31536000, immutable' : 'no-cache',
      etag: `"${UI_HASH}"`,
    },
  })
}

/** Adds the dashboard's routes to the gateway app (before its catch-all). */
export function mountUi(app: Hono, options: UiClusterOptions): void {
  const page = (): Response => asset(UI_HTML, 'text/html; charset=utf-8', false)
  app.get('/ui', page)
  app.get('/ui/', page)
  app.get('/ui/app.js', (c) => asset(UI_JS, 'text/javascript; charset=utf-8', c.req.query('v') === UI_HASH))
  app.get('/ui/app.css', (c) => asset(UI_CSS, 'text/css; charset=utf-8', c.req.query('v') === UI_HASH))
  app.get('/ui/api/cluster', async (c) => {
    const snapshot = await clusterSnapshot(options, c.req.header('authorization'))
    return new Response(JSON.stringify(snapshot), {
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    })
  })
}
