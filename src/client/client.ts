/**
 * `createClient`: one typed client over the etcd v3 JSON API of edgecd members or gateways.
 *
 * ```ts
 * const client = createClient({ endpoints: ['http://127.0.0.1:2379'] })
 * await client.kv.put('greeting', 'hello')
 * const { kvs } = await client.kv.get('greeting')
 * for await (const message of client.watch('config/', { prefix: true })) …
 * ```
 *
 * Keys and values are strings (UTF-8) or bytes; revisions and counts are numbers; lease and
 * member IDs are bigints. Error answers are thrown as EtcdError with etcd's code and message.
 *
 * @module
 */
import { AuthClient } from './auth.ts'
import { ClusterClient } from './cluster.ts'
import { ElectionClient } from './election.ts'
import type { Bytes } from './keys.ts'
import { KvClient } from './kv.ts'
import { LeaseClient } from './lease.ts'
import { MaintenanceClient } from './maintenance.ts'
import { LockClient } from './mutex.ts'
import { Transport, type TransportOptions } from './transport.ts'
import { Watch, type WatchOptions } from './watch.ts'

export type ClientOptions = TransportOptions

export interface Client {
  readonly kv: KvClient
  readonly lease: LeaseClient
  readonly cluster: ClusterClient
  readonly maintenance: MaintenanceClient
  /** Users, roles and permissions; `authenticate` for a token. */
  readonly auth: AuthClient
  /** The v3lock calls (blocking); see Mutex for a lock held under a Session. */
  readonly lock: LockClient
  /** The v3election calls (campaign blocks); see Election for a candidate under a Session. */
  readonly election: ElectionClient
  /** Watches a key (or a range, with `prefix`, `fromKey` or `rangeEnd`); iterate the result. */
  watch(key: Bytes, options?: WatchOptions): Watch
  /** Replaces the auth token sent with every call; undefined: none. */
  setToken(token: string | undefined): void
}

export function createClient(options: ClientOptions): Client {
  const transport = new Transport(options)
  return {
    kv: new KvClient(transport),
    lease: new LeaseClient(transport),
    cluster: new ClusterClient(transport),
    maintenance: new MaintenanceClient(transport),
    auth: new AuthClient(transport),
    lock: new LockClient(transport),
    election: new ElectionClient(transport),
    watch: (key, watchOptions) => new Watch(transport, key, watchOptions),
    setToken: (token) => transport.setToken(token),
  }
}
