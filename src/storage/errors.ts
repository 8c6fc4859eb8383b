/**
 * The errors storage/ throws at its callers. Every one of them stops the member: none is retried.
 * Messages name the file (and offset) so that an operator can act on them.
 *
 * @module
 */

/** A journal record that is damaged where a torn write cannot explain it. */
export class JournalCorruptError extends Error {
  readonly file: string
  readonly offset: number

  constructor(file: string, offset: number, reason: string) {
    super(
      `journal ${file} is corrupt at offset ${offset}: ${reason}; ` +
        'refusing to skip data (restore this member from a peer)',
    )
    this.name = 'JournalCorruptError'
    this.file = file
    this.offset = offset
  }
}

/** A checkpoint file (or snapshot data) that is truncated, damaged or not a checkpoint. */
export class CheckpointCorruptError extends Error {
  readonly file: string

  constructor(file: string, reason: string) {
    super(`checkpoint ${file} is unusable: ${reason}`)
    this.name = 'CheckpointCorruptError'
    this.file = file
  }
}

/** The data dir holds another cluster's or another member's data. */
export class WrongClusterError extends Error {
  constructor(where: string, found: string, expected: string) {
    super(`${where} belongs to ${found}, but this member is ${expected}; refusing to use it`)
    this.name = 'WrongClusterError'
  }
}

/** The files on disk are inconsistent with each other (a missing segment or checkpoint). */
export class DataDirError extends Error {
  constructor(dir: string, reason: string) {
    super(`data dir ${dir}: ${reason}`)
    this.name = 'DataDirError'
  }
}

/**
 * A write or fsync failed. After a failed fsync the kernel may have dropped the dirty pages, so
 * the state of the file is unknown: the member must stop and recover from disk (no retry).
 */
export class StorageFatalError extends Error {
  constructor(what: string, cause: unknown) {
    super(`storage failed (${what}); the member must stop and restart from disk`, { cause })
    this.name = 'StorageFatalError'
  }
}
