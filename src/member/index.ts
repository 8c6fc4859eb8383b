/**
 * The member's public surface: configuration, composition (openMember), the HTTP app and the
 * metrics, for the Node entry point, the CLI and the simulator.
 *
 * @module
 */
export { parseMemberConfig, ConfigError, MEMBER_FLAGS, unknownEtcdVariables, type MemberConfig, type AutoCompactionMode } from './config.ts'
export { createMetricsApp } from './health-routes.ts'
export { createPeerApp } from './peer-app.ts'
export { MEMBER_USAGE } from './member-usage.ts'
export { openMember, foundingMembers, Member, type MemberPorts, type MemberTuning } from './member.ts'
export { MemberActor, type ActorConfig, type ActorEvents, type ActorPorts, type Applied } from './actor.ts'
export { createMemberApp, type MemberAppOptions } from './app.ts'
export type { MemberContext } from './member-context.ts'
export { MemberMetrics } from './metrics.ts'
export { realClock, every, type Clock, type Cancel } from './clock.ts'
export { silentLogger, type Logger } from './logger.ts'
export { fetchMembersOver } from './fetch-members.ts'
export { IDENTITY_FILE, type Identity, type FetchMembers } from './identity-file.ts'
export { memberIdFor, clusterIdFor } from './identity.ts'
export type { MemberInfo } from './cluster-table.ts'
export { AuthGate, DEFAULT_AUTH_OPTIONS, type AuthOptions, type Connection } from './auth-gate.ts'
export { DEFAULT_FAILURE_LIMITS, type FailureLimits } from './auth-limiter.ts'
export { jwtKeys, type JwtKeys, type TokenOptions, type TokenMode } from './auth-tokens.ts'
export { DEFAULT_SECURITY, type SecurityConfig, type TlsFiles } from './security-config.ts'
export type { StreamLimits } from './member-context.ts'
export { connectionOf, dialTls, guardPeerRoute, incomingConnection, memberFetch, serverTls, type DialTls, type ListenerRole } from './tls.ts'
export { withUnaryFastPath, type NodeUnaryOptions } from './node-unary.ts'
export { directGrpcCalls, type DirectUnary } from './grpc-direct.ts'
export { callChannelRoute, type CallChannelOptions, type CallChannelRoute } from './call-channel.ts'
export { MemberRemovedError } from './proposal-errors.ts'
