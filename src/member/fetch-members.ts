/**
 * Asking running members for the member list over their client API (a joining member learns its
 * ID and the cluster's this way). Tries each URL in turn; rejects when none answers.
 *
 * @module
 */
import { decodeResponse, memberList, type FullResponseHeader } from '../api/index.ts'
import type { FetchMembers } from './identity-file.ts'

export function fetchMembersOver(fetcher: typeof fetch): FetchMembers {
  return async (urls) => {
    const failures: string[] = []
    for (const url of urls) {
      try {
        const res = await fetcher(new URL('/v3/cluster/member/list', url), { method: 'POST', body: '{}' })
        const text = await res.text()
        if (!res.ok) throw new Error(`HTTP ${res.status}: ${text}`)
        const list = decodeResponse(memberList, text)
        const header = list.header as FullResponseHeader
        return {
          clusterId: Number(header.clusterId),
          members: list.members.map((m) => ({
            id: Number(m.id),
            name: m.name,
            peerUrls: m.peerUrls,
            clientUrls: m.clientUrls,
            isLearner: m.isLearner,
          })),
        }
      } catch (err) {
        failures.push(`${url}: ${(err as Error).message}`)
      }
    }
    throw new Error(`no running member answered the member list (${failures.join('; ')})`)
  }
}
