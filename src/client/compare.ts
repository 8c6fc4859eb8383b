/**
 * Txn conditions: `compare.version('k', '=', 0)` (the key does not exist), `compare.value('k',
 * '!=', 'x')`, `compare.modRevision('k', '<', 7)`, …, each on one key or, with a selector, on
 * every key of a range.
 *
 * @module
 */
import type { Compare, CompareResult, CompareTarget } from '../mvcc/kv.ts'
import { rangeEndOf, toBytes, type Bytes, type RangeSelector } from './keys.ts'

export type CompareOp = '=' | '!=' | '>' | '<'

const RESULT: Readonly<Record<CompareOp, CompareResult>> = {
  '=': 'EQUAL',
  '!=': 'NOT_EQUAL',
  '>': 'GREATER',
  '<': 'LESS',
}

function make(
  target: CompareTarget,
  key: Bytes,
  operator: CompareOp,
  selector: RangeSelector,
  set: Partial<Compare>,
): Compare {
  const k = toBytes(key)
  return {
    key: k,
    rangeEnd: rangeEndOf(k, selector),
    target,
    result: RESULT[operator],
    version: 0,
    createRevision: 0,
    modRevision: 0,
    value: new Uint8Array(0),
    lease: 0n,
    ...set,
  }
}

export const compare = {
  version: (key: Bytes, operator: CompareOp, version: number, selector: RangeSelector = {}): Compare =>
    make('VERSION', key, operator, selector, { version }),
  createRevision: (key: Bytes, operator: CompareOp, revision: number, selector: RangeSelector = {}): Compare =>
    make('CREATE', key, operator, selector, { createRevision: revision }),
  modRevision: (key: Bytes, operator: CompareOp, revision: number, selector: RangeSelector = {}): Compare =>
    make('MOD', key, operator, selector, { modRevision: revision }),
  value: (key: Bytes, operator: CompareOp, value: Bytes, selector: RangeSelector = {}): Compare =>
    make('VALUE', key, operator, selector, { value: toBytes(value) }),
  lease: (key: Bytes, operator: CompareOp, lease: bigint, selector: RangeSelector = {}): Compare =>
    make('LEASE', key, operator, selector, { lease }),
} as const
