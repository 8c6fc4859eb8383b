/**
 * Pages etcd serves to GET only (`/health`, `/version`, `/debug/vars`): any other method, HEAD
 * included, is 405 `Method Not Allowed` with `Allow: GET`, as etcd's handlers answer. (Hono runs
 * a GET route for a HEAD request and drops the body; etcd does not serve HEAD on these.)
 *
 * @module
 */
import type { Context, Hono } from 'hono'
import { TEXT_HEADERS } from './errors.ts'

function getOnlyRefusal(): Response {
  return new Response('Method Not Allowed\n', { status: 405, headers: { ...TEXT_HEADERS, Allow: 'GET' } })
}

/** Serves `path` on `app` with `handler` for GET, and with etcd's 405 for any other method. */
export function getOnly(app: Hono, path: string, handler: (c: Context) => Response | Promise<Response>): void {
  app.get(path, (c) => (c.req.raw.method === 'HEAD' ? getOnlyRefusal() : handler(c)))
  app.all(path, () => getOnlyRefusal())
}
