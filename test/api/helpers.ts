/**
 * Shared fixtures for the API tests: the reference's header values, byte helpers, and an
 * assertion that a call fails with a given EtcdError.
 */
import assert from 'node:assert/strict'
import { EtcdError } from '../../src/mvcc/errors.ts'
import type { KeyValue } from '../../src/mvcc/kv.ts'
import type { HeaderContext } from '../../src/api/index.ts'

/** The IDs and term of the reference's single member. */
export const CTX: HeaderContext = { clusterId: 12101053776118486841n, memberId: 15985099378392235387n, raftTerm: 2 }

/** The printed header for `revision` (0: no revision, as member APIs print it). */
export function hdr(revision: number): string {
  const rev = revision === 0 ? '' : `"revision":"${revision}",`
  return `"header":{"cluster_id":"12101053776118486841","member_id":"15985099378392235387",${rev}"raft_term":"2"}`
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

export const EMPTY = new Uint8Array(0)

export function kv(key: string, fields: Partial<Omit<KeyValue, 'key'>> = {}): KeyValue {
  return { key: utf8(key), createRevision: 0, modRevision: 0, version: 0, value: EMPTY, lease: 0n, ...fields }
}

/** Asserts that `fn` throws an EtcdError with this code and message. */
export function throwsEtcd(fn: () => unknown, code: number, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof EtcdError, `expected an EtcdError, got ${String(err)}`)
    assert.equal(err.message, message)
    assert.equal(err.code, code)
    return true
  })
}
