/**
 * What a peer port of its own serves (--listen-peer-urls): the mesh, and of the API only what
 * members ask each other there: the member list (a joining member, one behind a membership
 * change), the calls a follower forwards to the leader (marked `x-edgecd-forwarded`, forward.ts),
 * and `/version`; and, as etcd's peer port, `GET /members` (the members as etcd writes them in
 * JSON, with the cluster ID in `X-Etcd-Cluster-Id`). Anything else answers 404, as etcd's peer
 * port does, so that clients use the client port and its checks. (A client can set the marker
 * itself: with --client-cert-auth, the peer port then requires a certificate too, tls.ts; a
 * plain-HTTP peer port is open to whoever reaches it, as the mesh on it is, and etcd's.)
 *
 * @module
 */
import { Hono, type Handler } from 'hono'
import { methodNotAllowed, pageNotFound } from '../api/index.ts'
import { etcdMemberJson } from './cluster-table.ts'
import { FORWARDED_HEADER, toResponse } from './forward.ts'
import type { MemberContext } from './member-context.ts'

/** The API paths a peer port serves to any caller. */
const PEER_PATHS: ReadonlySet<string> = new Set(['/v3/cluster/member/list', '/version'])

export function createPeerApp(m: MemberContext, member: Hono, peerRoute: { readonly path: string; readonly handler: Handler }): Hono {
  const app = new Hono()
  app.get(peerRoute.path, peerRoute.handler)
  app.all('/members', (c) => {
    if (c.req.method !== 'GET') {
      const refused = methodNotAllowed()
      return toResponse({ ...refused, headers: { ...refused.headers, Allow: 'GET' } })
    }
    const body = `[${m.actor.members().map(etcdMemberJson).join(',')}]`
    return new Response(body, { headers: { 'Content-Type': 'application/json', 'X-Etcd-Cluster-Id': m.identity.clusterId.toString(16) } })
  })
  app.all('*', (c) =>
    c.req.header(FORWARDED_HEADER) !== undefined || PEER_PATHS.has(c.req.path) ? member.fetch(c.req.raw, c.env) : toResponse(pageNotFound()),
  )
  return app
}
