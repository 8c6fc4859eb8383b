/**
 * Durable storage for one member: the Disk port and its implementations, the journal, checkpoints,
 * the Raft log over sql.js, recovery, and the {@link MemberStorage} facade the member uses.
 *
 * @module
 */
export { DiskError, LockHeldError, concatBytes, joinPath, dirOf } from './disk.ts'
export type { Bytes, Disk, DiskErrorCode, DiskLock, FileData, StreamedBytes } from './disk.ts'
export { NodeDisk } from './disk-node.ts'
export { MemoryDisk } from './disk-memory.ts'
export type { FaultPolicy, MemoryDiskOptions, Ratio } from './disk-memory.ts'
export { MeteredDisk } from './metered-disk.ts'
export type { DiskMetricsHooks, FsyncKind } from './metered-disk.ts'
export { crc32c } from './crc32c.ts'
export {
  CheckpointCorruptError,
  DataDirError,
  JournalCorruptError,
  StorageFatalError,
  WrongClusterError,
} from './errors.ts'
export type { MemberIdentity } from './identity.ts'
export { RaftLog } from './raft-log.ts'
export type { CheckpointMeta } from './raft-log.ts'
export { CHECKPOINT_FILE } from './checkpoint.ts'
export { databaseImage } from './database-image.ts'
export { LOCK_FILE } from './recover.ts'
export type { RecoveryReport } from './recover.ts'
export { MemberStorage } from './member-storage.ts'
export type { StorageOptions } from './member-storage.ts'
export { BoltBuilder, type BucketWriter } from './bolt-writer.ts'
export { readBolt, BoltFormatError, type BoltFile } from './bolt-reader.ts'
export type { BoltBucket, BoltEntry } from './bolt-format.ts'
