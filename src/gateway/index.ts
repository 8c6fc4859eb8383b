/**
 * The stateless gateway: one runtime-free Hono app that finds the leader, forwards etcd v3 JSON
 * requests, retries what is safe, spreads serializable reads and streams watches through.
 *
 * @module
 */
export { createGateway, createGatewayApp, MEMBER_HEADER, type Gateway, type GatewayOptions, type HeaderLookup } from './app.ts'
export type { GatewayAnswer } from './answers.ts'
export { fetchExchange, type Exchange, type UnaryAnswer, type UnaryOutcome, type UnaryRequest } from './exchange.ts'
// Node only, so not from here (the Worker bundles this file): node-exchange.ts, channel-exchange.ts, node-server.ts.
export { gatewayOptionsFromEnv, gatewayProcessesFromEnv, MAX_PROCESSES, parseListen, GatewayConfigError, type GatewayEnv } from './config.ts'
export { DEFAULT_LOGIN_LIMITS, type LoginLimits } from './login-limiter.ts'
export { runtimeClientAddress, type ClientAddress } from './client-address.ts'
