/**
 * The public surface of the Raft core. Other folders import Raft only through this file.
 *
 * @module
 */
export * from './types.ts'
export { RawNode } from './raw-node.ts'
export { MemoryStorage, bootstrapSnapshot } from './memory-storage.ts'
export { encodeConfChange, decodeConfChange } from './conf-change-codec.ts'
export { coalesceAppends } from './coalesce.ts'
export { caughtUp } from './membership.ts'
export {
  describeBytes,
  describeConfState,
  describeEntry,
  describeHardState,
  describeMessage,
  describeReadState,
  describeReady,
  describeSnapshot,
  describeSoftState,
} from './describe.ts'
