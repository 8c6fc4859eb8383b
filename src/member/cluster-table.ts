/**
 * The cluster's membership as the member API reports it (ID, name, peer and client URLs,
 * learner or voter), kept in the member's sql.js database so checkpoints and snapshots carry it.
 * Written only while applying committed entries (bootstrap, conf changes, published attributes),
 * so every member holds the same rows at the same applied index.
 *
 * Removed IDs are remembered forever: an ID is never reused and a removed member never rejoins.
 *
 * @module
 */
import type { Database } from 'sql.js'

export interface MemberInfo {
  readonly id: number
  /** Empty until the member has started and published itself. */
  readonly name: string
  readonly peerUrls: readonly string[]
  readonly clientUrls: readonly string[]
  readonly isLearner: boolean
}

/**
 * A member as etcd writes it in JSON (its backend's members bucket, its peer port's `/members`):
 * the ID a number, the learner flag only when set.
 */
export function etcdMemberJson(m: MemberInfo): string {
  return JSON.stringify({ id: m.id, peerURLs: m.peerUrls, name: m.name, clientURLs: m.clientUrls, ...(m.isLearner ? { isLearner: true } : {}) })
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS member_cluster (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, peer_urls TEXT NOT NULL, client_urls TEXT NOT NULL,
  is_learner INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS member_removed (id INTEGER PRIMARY KEY);`

export class ClusterTable {
  readonly #db: Database

  /** Binds to `db`, creating the tables if needed. A new table object is made per database. */
  constructor(db: Database) {
    this.#db = db
    db.exec(SCHEMA)
  }

  list(): MemberInfo[] {
    const out: MemberInfo[] = []
    const stmt = this.#db.prepare('SELECT id, name, peer_urls, client_urls, is_learner FROM member_cluster ORDER BY id')
    try {
      while (stmt.step()) {
        const [id, name, peer, client, learner] = stmt.get() as [number, string, string, string, number]
        out.push({ id, name, peerUrls: JSON.parse(peer), clientUrls: JSON.parse(client), isLearner: learner === 1 })
      }
    } finally {
      stmt.free()
    }
    return out
  }

  get(id: number): MemberInfo | undefined {
    return this.list().find((m) => m.id === id)
  }

  isRemoved(id: number): boolean {
    const stmt = this.#db.prepare('SELECT 1 FROM member_removed WHERE id = ?')
    try {
      stmt.bind([id])
      return stmt.step()
    } finally {
      stmt.free()
    }
  }

  /** Every ID ever removed from the cluster. */
  removedIds(): number[] {
    const rows = this.#db.exec('SELECT id FROM member_removed ORDER BY id')
    return (rows[0]?.values ?? []).map((r) => r[0] as number)
  }

  /** Adds or replaces a member's row, keeping a published name and client URLs when not given. */
  upsert(m: Pick<MemberInfo, 'id' | 'peerUrls' | 'isLearner'> & Partial<MemberInfo>): void {
    const old = this.get(m.id)
    this.#db.run(
      'INSERT OR REPLACE INTO member_cluster (id, name, peer_urls, client_urls, is_learner) VALUES (?, ?, ?, ?, ?)',
      [
        m.id,
        m.name ?? old?.name ?? '',
        JSON.stringify(m.peerUrls),
        JSON.stringify(m.clientUrls ?? old?.clientUrls ?? []),
        m.isLearner ? 1 : 0,
      ],
    )
  }

  /** Records a member's published name and client URLs; ignored for an unknown member. */
  publish(id: number, name: string, clientUrls: readonly string[]): void {
    const old = this.get(id)
    if (old !== undefined) this.upsert({ ...old, name, clientUrls })
  }

  remove(id: number): void {
    this.#db.run('DELETE FROM member_cluster WHERE id = ?', [id])
    this.#db.run('INSERT OR IGNORE INTO member_removed (id) VALUES (?)', [id])
  }
}
