/**
 * Deterministic hashes of the replicated state, for comparing members (etcd's HashKV and Hash).
 *
 * hashKv(R): CRC-32C over every history row with main ≤ R, in (main, sub) order, each as
 * (main, sub, tombstone, key, create, version, lease, value). Rows at or below the compacted
 * revision are exactly the ones compaction keeps (it always finishes inside the apply that
 * scheduled it), so the result depends only on the applied log, not on when compaction ran.
 *
 * storeHash(): hashKv at the current revision, then the revision, the compacted revision, the
 * leases (by id) and the alarms, i.e. everything apply decides except the applied index.
 *
 * @module
 */
import { Crc32c } from './crc32c.ts'
import { int64Columns, int64Of, type Sql } from './sql.ts'

function historyInto(crc: Crc32c, sql: Sql, rev: number): void {
  sql.each(
    `SELECT main, sub, tombstone, key, create_rev, version, ${int64Columns('lease')}, value
     FROM mvcc_rev WHERE main <= ? ORDER BY main, sub`,
    [rev],
    (row) => {
      crc.int64(row[0] as number).int64(row[1] as number).int64(row[2] as number)
      crc.field(row[3] as Uint8Array).int64(row[4] as number).int64(row[5] as number)
      crc.int64(int64Of(row[6] as number, row[7] as number)).field(row[8] as Uint8Array)
    },
  )
}

export function hashKv(sql: Sql, rev: number): number {
  const crc = new Crc32c()
  historyInto(crc, sql, rev)
  return crc.value()
}

export function storeHash(sql: Sql, rev: number, compactMain: number): number {
  const crc = new Crc32c()
  historyInto(crc, sql, rev)
  crc.int64(rev).int64(compactMain)
  sql.each(`SELECT ${int64Columns('id')}, ttl, remaining_ms FROM mvcc_lease ORDER BY id`, [], (row) => {
    crc.int64(int64Of(row[0] as number, row[1] as number)).int64(row[2] as number).int64(row[3] as number)
  })
  const enc = new TextEncoder()
  sql.each(`SELECT ${int64Columns('member_id')}, alarm FROM mvcc_alarm ORDER BY member_id, alarm`, [], (row) => {
    crc.int64(int64Of(row[0] as number, row[1] as number)).field(enc.encode(row[2] as string))
  })
  return crc.value()
}
