/**
 * The routes a monitoring system calls, as etcd serves them on its client URLs and on
 * --listen-metrics-urls: `GET /health` (`{"health":"true"}` once a linearizable read succeeds
 * within two election timeouts with a leader known and no alarm raised but those named by
 * `?exclude=`; 503 and "false" otherwise) and `/metrics` (Prometheus text, any method, as etcd's handler).
 *
 * @module
 */
import { Hono } from 'hono'
import { getOnly, healthAnswer, pageNotFound } from '../api/index.ts'
import { toResponse } from './forward.ts'
import type { MemberContext } from './member-context.ts'

/** Prometheus text for /metrics. */
export type MetricsText = () => Promise<{ contentType: string; body: string }>

/**
 * The member's health, as etcd's: a leader known, no alarm raised but those `excluded` names
 * (`?exclude=NOSPACE`, repeatable), and a linearizable read within two election timeouts.
 */
async function health(m: MemberContext, excluded: readonly string[]): Promise<Response> {
  const { actor } = m
  let ok = actor.leader !== 0 && actor.store.alarms().every((a) => excluded.includes(a.alarm))
  if (ok) {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), 2 * actor.config.tickMs * actor.config.electionTicks)
    })
    ok = await Promise.race([actor.linearizableRead(), timeout]).then(
      () => true,
      () => false,
    )
    clearTimeout(timer)
  }
  return toResponse(healthAnswer(ok))
}

/** Mounts /health and /metrics on `app` (/metrics answers 404 without `metrics`). */
export function mountHealthRoutes(app: Hono, m: MemberContext, metrics: MetricsText | undefined): void {
  getOnly(app, '/health', (c) => health(m, c.req.queries('exclude') ?? []))
  app.all('/metrics', async () => {
    if (metrics === undefined) return toResponse(pageNotFound())
    const { contentType, body } = await metrics()
    return new Response(body, { headers: { 'Content-Type': contentType } })
  })
}

/** What a --listen-metrics-urls listener serves: those two routes, 404 for anything else. */
export function createMetricsApp(m: MemberContext, metrics: MetricsText): Hono {
  const app = new Hono()
  mountHealthRoutes(app, m, metrics)
  app.all('*', () => toResponse(pageNotFound()))
  return app
}
