/**
 * Which member this process is, and of which cluster, settled once per data dir and kept in
 * `<data-dir>/member.id`:
 * - a founding member of a new cluster derives its ID from its peer URLs and the cluster token,
 *   and the cluster ID from the founding members' IDs (as etcd does);
 * - a member joining an existing cluster (`--initial-cluster-state existing`, after `member add`)
 *   asks the running members for the member list and finds itself by its peer URLs;
 * - a restarted member reads the file, and refuses to start if it names another cluster token.
 *
 * @module
 */
import { joinPath, WrongClusterError, type Disk } from '../storage/index.ts'
import type { MemberInfo } from './cluster-table.ts'
import type { MemberConfig } from './config.ts'
import { clusterIdFor, memberIdFor } from './identity.ts'

export interface Identity {
  readonly memberId: number
  readonly clusterId: number
}

/** Asks members at `urls` for the cluster ID and member list; rejects if none answers. */
export type FetchMembers = (urls: readonly string[]) => Promise<{ clusterId: number; members: MemberInfo[] }>

export const IDENTITY_FILE = 'member.id'

interface IdentityRecord extends Identity {
  readonly token: string
}

export async function resolveIdentity(disk: Disk, config: MemberConfig, fetchMembers: FetchMembers): Promise<Identity> {
  const path = joinPath(config.dataDir, IDENTITY_FILE)
  await disk.mkdir(config.dataDir)
  if (await disk.exists(path)) {
    const text = new TextDecoder().decode(await disk.read(path))
    let rec: IdentityRecord
    try {
      rec = JSON.parse(text) as IdentityRecord
    } catch {
      throw new Error(`${path}: not a member identity file`)
    }
    if (rec.token !== config.initialClusterToken)
      throw new WrongClusterError(path, `cluster '${rec.token}' member ${rec.memberId}`, `cluster '${config.initialClusterToken}'`)
    return { memberId: rec.memberId, clusterId: rec.clusterId }
  }
  const token = config.initialClusterToken
  let identity: Identity
  if (config.initialClusterState === 'new') {
    const ids = [...config.initialCluster.values()].map((urls) => memberIdFor(urls, token))
    identity = { memberId: memberIdFor(config.initialAdvertisePeerUrls, token), clusterId: clusterIdFor(ids, token) }
  } else {
    const mine = [...config.initialAdvertisePeerUrls].sort().join(',')
    const others = [...config.initialCluster]
      .filter(([name]) => name !== config.name)
      .flatMap(([, urls]) => urls)
    const { clusterId, members } = await fetchMembers(others)
    const me = members.find((m) => [...m.peerUrls].sort().join(',') === mine)
    if (me === undefined)
      throw new Error(
        `no member with peer URLs ${mine} in the cluster: add it first (member add) or start with --initial-cluster-state new`,
      )
    identity = { memberId: me.id, clusterId }
  }
  const rec: IdentityRecord = { ...identity, token }
  await disk.writeAtomic(path, new TextEncoder().encode(JSON.stringify(rec)))
  return identity
}
