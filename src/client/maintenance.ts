/**
 * The maintenance calls: status (of the cluster, or of one endpoint), hash and hashKV, alarms,
 * defragment, the snapshot stream, and moving the leadership.
 *
 * @module
 */
import {
  decodeStreamResponse, maintenanceAlarm, maintenanceDefragment, maintenanceHash, maintenanceHashKv,
  maintenanceSnapshot, maintenanceStatus, maintenanceTransferLeadership, type EmptyRequest, type HashResponse,
  type StatusResponse,
} from '../api/index.ts'
import type { AlarmAction, AlarmResponse, AlarmType, HashKvResponse } from '../mvcc/kv.ts'
import { lines } from './lines.ts'
import type { Answer, Transport } from './transport.ts'

export class MaintenanceClient {
  readonly #transport: Transport

  constructor(transport: Transport) {
    this.#transport = transport
  }

  /** The status of whichever endpoint answers, or of `endpoint` (one of the client's). */
  status(options: { readonly endpoint?: string } = {}): Promise<Answer<StatusResponse>> {
    return this.#transport.call(maintenanceStatus, {}, { idempotent: true, ...options })
  }

  hash(options: { readonly endpoint?: string } = {}): Promise<Answer<HashResponse>> {
    return this.#transport.call(maintenanceHash, {}, { idempotent: true, ...options })
  }

  /** etcd 3.5's HashKV at `revision` (0: the current one). */
  hashKv(revision = 0, options: { readonly endpoint?: string } = {}): Promise<Answer<HashKvResponse>> {
    return this.#transport.call(maintenanceHashKv, { revision }, { idempotent: true, ...options })
  }

  /** Lists (GET, the default), raises or clears alarms; memberId 0n: every member. */
  alarm(action: AlarmAction = 'GET', alarm: AlarmType = 'NONE', memberId = 0n): Promise<AlarmResponse> {
    return this.#transport.call(maintenanceAlarm, { action, alarm, memberId }, { idempotent: action === 'GET' })
  }

  async defragment(options: { readonly endpoint?: string } = {}): Promise<void> {
    await this.#transport.call(maintenanceDefragment, {}, { idempotent: true, ...options })
  }

  /** The database, chunk by chunk; the last chunk is its SHA-256. */
  async *snapshot(options: { readonly signal?: AbortSignal } = {}): AsyncGenerator<Uint8Array> {
    const body = new TextEncoder().encode('{}')
    const call = { idempotent: true, ...options }
    const stream = await this.#transport.open(maintenanceSnapshot.path, () => body, call)
    for await (const line of lines(stream.body)) yield decodeStreamResponse(maintenanceSnapshot, line).blob
  }

  /** Hands the leadership to member `targetId` (ask the current leader). */
  moveLeader(targetId: bigint, options: { readonly endpoint?: string } = {}): Promise<Answer<EmptyRequest>> {
    const call = { idempotent: false, ...options }
    return this.#transport.call(maintenanceTransferLeadership, { targetId }, call)
  }
}
