/**
 * Raised alarms (etcd's alarm store): one mvcc_alarm row per (member, alarm type), mirrored in
 * memory because every write checks for NOSPACE. Activated and deactivated only through the
 * replicated alarm command, so all members agree on when writes are refused. A member ID is a
 * uint64 (any of them: etcd's own are 2^63 or more half the time), stored as the int64 of its bits.
 *
 * @module
 */
import type { AlarmMember, AlarmType } from './kv.ts'
import { int64Columns, uint64Of, uint64Param, type Sql } from './sql.ts'

export class AlarmTable {
  readonly #sql: Sql
  #alarms: AlarmMember[] = []

  constructor(sql: Sql) {
    this.#sql = sql
    this.load()
  }

  load(): void {
    const alarms: AlarmMember[] = []
    this.#sql.each(`SELECT ${int64Columns('member_id')}, alarm FROM mvcc_alarm ORDER BY member_id, alarm`, [], (row) => {
      alarms.push({ memberId: uint64Of(row[0] as number, row[1] as number), alarm: row[2] as AlarmType })
    })
    this.#alarms = alarms
  }

  /** Raised alarms of one type, or all of them for 'NONE' (etcd's GET). */
  list(alarm: AlarmType = 'NONE'): AlarmMember[] {
    return this.#alarms.filter((a) => alarm === 'NONE' || a.alarm === alarm)
  }

  has(alarm: AlarmType): boolean {
    return this.#alarms.some((a) => a.alarm === alarm)
  }

  activate(memberId: bigint, alarm: AlarmType): AlarmMember {
    const m = { memberId, alarm }
    if (!this.#alarms.some((a) => a.memberId === memberId && a.alarm === alarm)) {
      this.#sql.run('INSERT INTO mvcc_alarm VALUES (CAST(? AS INTEGER), ?)', [uint64Param(memberId), alarm])
      this.load()
    }
    return m
  }

  /** Returns the alarm that was cleared, or null when it was not raised. */
  deactivate(memberId: bigint, alarm: AlarmType): AlarmMember | null {
    if (!this.#alarms.some((a) => a.memberId === memberId && a.alarm === alarm)) return null
    this.#sql.run('DELETE FROM mvcc_alarm WHERE member_id = CAST(? AS INTEGER) AND alarm = ?', [
      uint64Param(memberId),
      alarm,
    ])
    this.load()
    return { memberId, alarm }
  }
}
