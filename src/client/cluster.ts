/**
 * The cluster calls: list, add (a voter or a learner), remove, update peer URLs, promote a learner.
 * Only the list is idempotent.
 *
 * @module
 */
import {
  memberAdd, memberList, memberPromote, memberRemove, memberUpdate,
  type MemberAddResponse, type MembersResponse,
} from '../api/index.ts'
import type { Answer, Transport } from './transport.ts'

export class ClusterClient {
  readonly #transport: Transport

  constructor(transport: Transport) {
    this.#transport = transport
  }

  memberList(): Promise<Answer<MembersResponse>> {
    return this.#transport.call(memberList, {}, { idempotent: true })
  }

  memberAdd(
    peerUrls: readonly string[],
    options: { readonly isLearner?: boolean } = {},
  ): Promise<Answer<MemberAddResponse>> {
    const request = { peerUrls, isLearner: options.isLearner ?? false }
    return this.#transport.call(memberAdd, request, { idempotent: false })
  }

  memberRemove(id: bigint): Promise<Answer<MembersResponse>> {
    return this.#transport.call(memberRemove, { id }, { idempotent: false })
  }

  memberUpdate(id: bigint, peerUrls: readonly string[]): Promise<Answer<MembersResponse>> {
    return this.#transport.call(memberUpdate, { id, peerUrls }, { idempotent: false })
  }

  memberPromote(id: bigint): Promise<Answer<MembersResponse>> {
    return this.#transport.call(memberPromote, { id }, { idempotent: false })
  }
}
