/**
 * The gateway suite (gateway.suite.ts) against the app served in-process by @hono/node-server.
 */
import { runGatewaySuite } from './gateway.suite.ts'
import { startGateway } from './serve-gateway.ts'

runGatewaySuite('node', startGateway)
