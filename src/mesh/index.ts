/**
 * The peer transport's public surface: the Mesh port, its WebSocket implementation with the Hono
 * route that accepts peers, and the in-memory hub for tests.
 *
 * @module
 */
export type { Mesh, MeshLog, MeshStats, PeerStats, PeerUrls } from './mesh.ts'
export { WsMesh, PEER_PATH, type WsMeshOptions } from './ws-mesh.ts'
export { createPeerRoute, type PeerAcceptor, type PeerRoute } from './peer-route.ts'
export { MemoryHub, MemoryMesh, type MemoryMeshOptions } from './memory-mesh.ts'
export { DEFAULT_MAX_FRAME_BYTES, FrameCodec, FrameError, type Frame } from './codec.ts'
export { TOKEN_HEADER, MEMBER_HEADER } from './peer-auth.ts'
export { DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.ts'
export { realScheduler, type Scheduler } from './scheduler.ts'
