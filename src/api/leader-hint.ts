/**
 * The HTTP header a member puts on the unary answers it gives while it is not the leader, and on
 * the answers it forwarded to the leader (those of leader-only calls, streams included): the
 * leader's member ID as it knows it (decimal; `0` when it knows none). The gateway sends
 * leader-bound calls to the member it believes leads; this tells it when that belief went stale
 * (a leadership transfer, an election the old leader lived through: the old leader still answers,
 * as a follower, so nothing fails) without a probe. Not an etcd header: the gateway takes it off
 * before answering its client.
 *
 * @module
 */
export const LEADER_HINT_HEADER = 'x-edgecd-leader'
