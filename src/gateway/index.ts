/**
 * The stateless gateway: one runtime-free Hono app that finds the leader, forwards etcd v3 JSON
 * requests, retries what is safe, spreads serializable reads and streams watches through.
 *
 * @module
 */
export { createGatewayApp, MEMBER_HEADER, type GatewayOptions } from './app.ts'
export { gatewayOptionsFromEnv, parseListen, GatewayConfigError, type GatewayEnv } from './config.ts'
