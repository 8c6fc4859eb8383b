/**
 * The gateway's behaviour suite, one body for every runtime that serves it: routing, failover and
 * streaming against three fake members (fake-cluster.ts). node.test.ts runs it on @hono/node-server,
 * workers.test.ts on the Worker under `wrangler dev` (workerd). A runtime leaves a test out only by
 * naming it in `notApplicable` with the reason; a name that matches no test is an error.
 *
 * @module
 */
import { failoverSuite } from './failover.suite.ts'
import { routingSuite } from './routing.suite.ts'
import type { NotApplicable, StartGateway } from './serve-gateway.ts'
import { suiteTest } from './serve-gateway.ts'
import { streamingSuite } from './streaming.suite.ts'

export interface SuiteOptions {
  /** Tests that do not apply to this runtime, each with the reason. */
  readonly notApplicable?: NotApplicable
  /** Milliseconds each describe may take (default 30 s; a Worker gateway takes seconds to start). */
  readonly timeoutMs?: number
}

export function runGatewaySuite(name: string, startGateway: StartGateway, options: SuiteOptions = {}): void {
  const notApplicable = options.notApplicable ?? {}
  const timeout = options.timeoutMs ?? 30_000
  const seen = new Set<string>()
  const test = suiteTest(notApplicable, seen)
  routingSuite(name, startGateway, test, timeout)
  failoverSuite(name, startGateway, test, timeout)
  streamingSuite(name, startGateway, test, timeout)
  const unknown = Object.keys(notApplicable).filter((excluded) => !seen.has(excluded))
  if (unknown.length > 0) throw new Error(`notApplicable name no test of the gateway suite: ${unknown.join('; ')}`)
}
