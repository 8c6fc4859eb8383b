/**
 * The etcd v3 JSON wire format, as etcd 3.4's grpc-gateway serves it: endpoints (path, schemas,
 * checks), the four codec directions over them, request streams, errors and HTTP answers, size
 * limits, and key helpers. Pure functions over strings and bytes; no server here, but for one
 * helper the Node servers share (Outbox: socket writes made in bursts).
 *
 * Server:  `route(method, path)` → `decodeRequest(ep, body, limits)` → … →
 *          `jsonResponse(encodeResponse(ep, res, ctx))`, or `errorResponse(err)`.
 * Streams: `new RequestStream(ep)` for watch/keepalive bodies, `encodeStreamResponse` per message.
 * Client:  `encodeRequest(ep, req)`, `decodeResponse(ep, text)`, `decodeStreamResponse(ep, line)`,
 *          `errorFromBody(status, text)`.
 *
 * @module
 */

export {
  endpoint, checkRequest, decodeRequest, encodeResponse, encodeStreamResponse, encodeRequest,
  decodeResponse, decodeStreamResponse, withHeader,
  type Endpoint, type AnyEndpoint, type HeaderMode, type StreamMode,
} from './endpoint.ts'
export { RequestStream, decodeRequestStream, type RequestBatch } from './request-stream.ts'
export { JsonStreamSplitter, parseRequestBody, type StreamBatch } from './json-stream.ts'
export { parseJson, type JsonValue } from './go-json.ts'
export { encodeBase64, decodeBase64 } from './base64.ts'
export type { HeaderContext, FullResponseHeader, HeaderResponse } from './header.ts'
export type { EmptyRequest } from './schema.ts'
export {
  DEFAULT_LIMITS, DEFAULT_MAX_REQUEST_BYTES, GRPC_OVERHEAD_BYTES, MAX_HEADER_BYTES, MAX_HELD_REQUEST_BYTES, proposalField, proposalSize, receiveLimitError,
  requestSizeError, TXN_PROPOSAL_FIELD, type Limits,
} from './size-limits.ts'
export { getOnly } from './get-only.ts'
export { HOP_HEADERS } from './hop-headers.ts'
export { protoSize } from './proto-size.ts'
export { Outbox, type Defer } from './outbox.ts'
export {
  CORS_HEADERS, JSON_HEADERS, TEXT_HEADERS, asEtcdError, errorBody, errorFromBody, errorResponse, httpStatus,
  healthAnswer, jsonResponse, methodNotAllowed, movedPermanently, notFound, pageNotFound, preflight, streamErrorLine, streamRefused, streamRequestError,
  type ApiResponse,
} from './errors.ts'
export { ApiErrors, concurrencyError, ProtoDecodeError } from './api-errors.ts'
export { cleanPathRedirect, ENDPOINTS, findEndpoint, route, type Route } from './routes.ts'
export { GRPC_METHODS } from './grpc-methods.ts'
export { prefixRangeEnd, fromKeyRangeEnd } from './keys.ts'
export { validPeerUrls } from './member-urls.ts'

export { kvRange, kvPut, kvDeleteRange, kvTxn, kvCompaction } from './kv-endpoints.ts'
export type { WireRequestOp, WireTxnRequest } from './kv-schemas.ts'
export {
  leaseGrant, leaseRevoke, leaseKeepAlive, leaseTimeToLive, leaseLeases,
  type LeaseKeepAliveRequest, type LeaseKeepAliveResponse,
} from './lease.ts'
export {
  watch, type WatchCreateRequest, type WatchFilter, type WatchRequest, type WatchResponse,
} from './watch.ts'
export {
  memberAdd, memberRemove, memberUpdate, memberList, memberPromote,
  type Member, type MemberAddRequest, type MemberAddResponse, type MemberIdRequest, type MemberUpdateRequest,
  type MembersResponse,
} from './cluster.ts'
export {
  maintenanceStatus, maintenanceHash, maintenanceHashKv, maintenanceAlarm, maintenanceDefragment,
  maintenanceSnapshot, maintenanceTransferLeadership,
  type StatusResponse, type HashResponse, type HashKvRequest, type SnapshotResponse, type MoveLeaderRequest,
} from './maintenance.ts'
export {
  authEnable, authDisable, authStatus, authAuthenticate, userAdd, userGet, userList, userDelete,
  userChangePassword, userGrantRole, userRevokeRole, roleAdd, roleGet, roleList, roleDelete,
  roleGrantPermission, roleRevokePermission,
  type Permission, type PermissionType, type AuthenticateRequest, type AuthenticateResponse,
  type AuthStatusResponse, type UserAddRequest, type NameRequest, type NamePasswordRequest,
  type UserGrantRoleRequest, type UserRevokeRoleRequest, type RoleRequest, type RoleGrantPermissionRequest,
  type RoleRevokePermissionRequest, type RolesResponse, type UsersResponse, type RoleGetResponse,
} from './auth.ts'
export { lockLock, lockUnlock, type LockRequest, type LockResponse, type UnlockRequest } from './lock.ts'
export {
  electionCampaign, electionProclaim, electionLeader, electionObserve, electionResign,
  type LeaderKey, type CampaignRequest, type CampaignResponse, type ProclaimRequest, type LeaderRequest,
  type LeaderResponse, type ResignRequest,
} from './election.ts'
export { LEADER_HINT_HEADER } from './leader-hint.ts'
export {
  CALL_CHANNEL_PATH, ChannelFrameError, PROTOBUF_CALL, decodeAnswers, decodeCalls, encodeAnswers, encodeCalls, type ChannelAnswer, type ChannelCall,
} from './call-frames.ts'
export { GRPC_TIMEOUT_HEADER, grpcTimeoutMs } from './grpc-timeout.ts'
export { NO_LEADER_CHECKS, REQUIRE_LEADER_HEADER, REQUIRE_LEADER_METADATA, requiresLeader } from './require-leader.ts'
export { fragments } from './watch-fragments.ts'
export {
  acceptedProtocol, bearerOnly, BODY_HIGH_WATER_BYTES, HIGH_WATER_BYTES, upgradeToken, webSocketJson, type Serve, type WebSocketJsonOptions,
} from './websocket-json.ts'
export { KeyValueSchema } from './kv-schemas.ts'
export { writeItemsInSlices, WrittenItems } from './json-writer.ts'
export { AlarmMemberSchema, alarmText } from './maintenance.ts'
export {
  BackendLeaseSchema, BackendRoleSchema, BackendUserSchema,
  type BackendLease, type BackendRole, type BackendUser,
} from './backend-schemas.ts'
