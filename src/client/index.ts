/**
 * The typed edgecd client over the etcd v3 JSON API (members or gateways), the coordination
 * recipes built on it (Session, Mutex, Election, Discovery), and the HTTP attempt and retry rules
 * it shares with the gateway.
 *
 * @module
 */
export { createClient, type Client, type ClientOptions } from './client.ts'
export { KvClient } from './kv.ts'
export { TxnBuilder } from './txn.ts'
export { compare, type CompareOp } from './compare.ts'
export { op, type RangeOptions, type PutOptions, type DeleteOptions } from './requests.ts'
export { Watch, type WatchOptions } from './watch.ts'
export { LeaseClient, KeepAlive, type KeepAliveOptions } from './lease.ts'
export { ClusterClient } from './cluster.ts'
export { AuthClient } from './auth.ts'
export { MaintenanceClient } from './maintenance.ts'
export { toBytes, utf8, type Bytes, type RangeSelector } from './keys.ts'
export type { Answer, CallOptions } from './transport.ts'
export { attempt, type AttemptInit, type Outcome } from './attempt.ts'
export { neverSent } from '../api/never-sent.ts'
export { connectionLost, notProposed, refusedByLearner, retryable } from './retry-rules.ts'
export { EtcdError, GrpcCode } from '../mvcc/errors.ts'
export { Session, type SessionOptions, type SessionEnd } from './session.ts'
export { LockClient, Mutex, type HeldLock, type WaitOptions } from './mutex.ts'
export { ElectionClient, Election } from './election.ts'
export {
  Discovery, SERVICES_PREFIX, type Instance, type RegisterOptions, type Registration, type ServiceChange,
  type ServiceView,
} from './discovery.ts'
export { sleep, within } from './sleep.ts'
export { Deadline } from './deadline.ts'
