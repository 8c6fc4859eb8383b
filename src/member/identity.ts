/**
 * Member and cluster IDs derived from configuration, as etcd derives them: the same peer URLs and
 * cluster token always give the same member ID, and the same initial members and token the same
 * cluster ID. IDs are kept below 2^53 so they are exact JS numbers (Raft node IDs) and never 0.
 *
 * @module
 */
import { createHash } from 'node:crypto'

function idFrom(text: string): number {
  const digest = createHash('sha256').update(text).digest()
  // 53 bits: 6 bytes plus the top 5 bits of the seventh.
  const id = digest.readUIntBE(0, 6) * 32 + (digest[6]! >> 3)
  return id === 0 ? 1 : id
}

/** The ID of a member with these peer URLs in the cluster named by `token`. */
export function memberIdFor(peerUrls: readonly string[], token: string): number {
  return idFrom(`member\n${[...peerUrls].sort().join(',')}\n${token}`)
}

/** The ID of a cluster made of these initial members. */
export function clusterIdFor(memberIds: readonly number[], token: string): number {
  return idFrom(`cluster\n${[...memberIds].sort((a, b) => a - b).join(',')}\n${token}`)
}
