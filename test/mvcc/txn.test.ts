/**
 * etcd's Txn semantics (shared/etcd-v3-http-api.md §5.4): compares, branches, atomicity at one
 * revision, visibility of earlier ops, nested txns, limits and the duplicate-key rules.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { RangeResponse, TxnRequest, TxnResponse } from '../../src/mvcc/index.ts'
import { b, cmp, Harness, keys, kvText, opDel, opPut, opRange, opTxn, txnReq } from './helpers.ts'

test('txn: the reference example: create-if-missing, then read on the second run', () => {
  const h = new Harness()
  const t: Partial<TxnRequest> = {
    compare: [cmp('t1', { target: 'VERSION', result: 'EQUAL', version: 0 })],
    success: [opPut('t1', 'one')],
    failure: [opRange('t1')],
  }
  const first = h.txn(t)
  assert.equal(first.succeeded, true)
  assert.equal(first.header.revision, 2)
  assert.deepEqual(first.responses.map((r) => [r.type, r.response.header.revision]), [['put', 2]])
  const second = h.txn(t)
  assert.equal(second.succeeded, false)
  assert.equal(second.header.revision, 2, 'a read-only txn does not bump the revision')
  const rr = second.responses[0]!.response as RangeResponse
  assert.deepEqual([rr.header.revision, rr.kvs.map(kvText), rr.count], [2, ['t1=one c2 m2 v1'], 1])
})

test('txn: an empty txn succeeds and changes nothing', () => {
  const h = new Harness()
  const r = h.txn({})
  assert.deepEqual([r.succeeded, r.header.revision, r.responses.length], [true, 1, 0])
})

// Fixture for compares: k = 'v5' at c2 m3 v2 with lease 7; missing = never written.
function compareFixture(): Harness {
  const h = new Harness()
  h.grant(60, 7n)
  h.put('k', 'v1')
  h.put('k', 'v5', { lease: 7n })
  h.put('k2', 'zz')
  return h
}

const compareCases: [string, ReturnType<typeof cmp>, boolean][] = [
  ['VERSION EQUAL 2', cmp('k', { target: 'VERSION', version: 2 }), true],
  ['VERSION GREATER 1', cmp('k', { target: 'VERSION', result: 'GREATER', version: 1 }), true],
  ['VERSION LESS 2 fails', cmp('k', { target: 'VERSION', result: 'LESS', version: 2 }), false],
  ['CREATE EQUAL 2', cmp('k', { target: 'CREATE', createRevision: 2 }), true],
  ['MOD NOT_EQUAL 2', cmp('k', { target: 'MOD', result: 'NOT_EQUAL', modRevision: 2 }), true],
  ['MOD EQUAL 3', cmp('k', { target: 'MOD', modRevision: 3 }), true],
  ['VALUE EQUAL', cmp('k', { target: 'VALUE', value: b('v5') }), true],
  ['VALUE GREATER compares bytes', cmp('k', { target: 'VALUE', result: 'GREATER', value: b('v40') }), true],
  ['VALUE LESS compares bytes', cmp('k', { target: 'VALUE', result: 'LESS', value: b('v6') }), true],
  ['LEASE EQUAL 7', cmp('k', { target: 'LEASE', lease: 7n }), true],
  ['missing key: VERSION EQUAL 0 (the default compare)', cmp('missing'), true],
  ['missing key: MOD EQUAL 0', cmp('missing', { target: 'MOD', modRevision: 0 }), true],
  ['missing key: LEASE EQUAL 0', cmp('missing', { target: 'LEASE', lease: 0n }), true],
  ['missing key: CREATE GREATER 0 fails', cmp('missing', { target: 'CREATE', result: 'GREATER' }), false],
  ['missing key: VALUE EQUAL "" is always false', cmp('missing', { target: 'VALUE' }), false],
  ['missing key: VALUE NOT_EQUAL is always false too', cmp('missing', { target: 'VALUE', result: 'NOT_EQUAL', value: b('x') }), false],
  ['range: must hold for every key (VERSION GREATER 0 over k..k3)', cmp('k', { rangeEnd: b('k3'), result: 'GREATER' }), true],
  ['range: one key failing fails it (VERSION EQUAL 2 over k..k3)', cmp('k', { rangeEnd: b('k3'), version: 2 }), false],
  ['range: an empty range compares against zero', cmp('x', { rangeEnd: b('y'), target: 'MOD' }), true],
  ['range: an empty range fails a VALUE compare', cmp('x', { rangeEnd: b('y'), target: 'VALUE', result: 'NOT_EQUAL' }), false],
]
for (const [name, c, expected] of compareCases) {
  test(`txn compare: ${name}`, () => {
    const h = compareFixture()
    assert.equal(h.txn({ compare: [c] }).succeeded, expected)
  })
}

test('txn: all compares must hold', () => {
  const h = compareFixture()
  assert.equal(h.txn({ compare: [cmp('k', { version: 2 }), cmp('k2', { version: 1 })] }).succeeded, true)
  assert.equal(h.txn({ compare: [cmp('k', { version: 2 }), cmp('k2', { version: 2 })] }).succeeded, false)
})

test('txn: all writes share one revision with increasing sub-revisions', () => {
  const h = new Harness()
  const r = h.run({ type: 'txn', request: txnReq({ success: [opPut('a', '1'), opPut('b', '2'), opDel('c')] }) })
  assert.equal(r.revision, 2)
  assert.deepEqual(r.events.map((e) => [e.type, kvText(e.kv)]), [['PUT', 'a=1 c2 m2 v1'], ['PUT', 'b=2 c2 m2 v1']])
  assert.deepEqual(h.store.eventsBetween(2, 2, b('a'), b('z'), 10).map((e) => kvText(e.kv)), ['a=1 c2 m2 v1', 'b=2 c2 m2 v1'])
})

test('txn: ops see the effects of earlier ops; inner headers show the revision after each op', () => {
  const h = new Harness()
  h.put('x', 'old')
  const r = h.txn({ success: [opRange('x'), opPut('x', 'new'), opRange('x'), opDel('y')] })
  const [r0, , r2, d3] = r.responses
  assert.equal(r0!.response.header.revision, 2, 'before any write: the old revision')
  assert.deepEqual((r0!.response as RangeResponse).kvs.map(kvText), ['x=old c2 m2 v1'])
  assert.deepEqual((r2!.response as RangeResponse).kvs.map(kvText), ['x=new c2 m3 v2'])
  assert.equal(r2!.response.header.revision, 3)
  assert.equal(d3!.response.header.revision, 3, 'a delete of nothing after a write: the txn revision')
  assert.equal(r.header.revision, 3)
})

test('txn: put then range of the same key is allowed and sees the put', () => {
  const h = new Harness()
  const r = h.txn({ success: [opPut('k', 'v'), opRange('k')] })
  assert.deepEqual((r.responses[1]!.response as RangeResponse).kvs.map(kvText), ['k=v c2 m2 v1'])
})

test('txn: two deletes of one key are allowed; the second deletes nothing', () => {
  const h = new Harness()
  h.put('k', 'v')
  const r = h.txn({ success: [opDel('k'), opDel('k')] })
  assert.deepEqual(r.responses.map((x) => (x.response as { deleted: number }).deleted), [1, 0])
  assert.equal(r.header.revision, 3)
})

test('txn: nested txn answers with an empty header and its own branch', () => {
  const h = new Harness()
  h.put('n', '1')
  const r = h.txn({
    success: [opTxn({ compare: [cmp('n', { version: 5 })], success: [opPut('s', '1')], failure: [opPut('f', '1')] })],
  })
  const inner = r.responses[0]!.response as TxnResponse
  assert.deepEqual([inner.header.revision, inner.succeeded, inner.responses[0]!.response.header.revision], [0, false, 3])
  assert.deepEqual(keys(h.get('a', { rangeEnd: b('z') }).kvs), ['f', 'n'])
})

test('txn: nested compares are evaluated before any op runs (etcd compareToPath)', () => {
  const h = new Harness()
  const r = h.txn({ success: [opPut('a', '1'), opTxn({ compare: [cmp('a', { version: 0 })], success: [opPut('b', '1')] })] })
  assert.equal((r.responses[1]!.response as TxnResponse).succeeded, true, 'a did not exist when compares ran')
})

test('txn: 128 ops per list are accepted, 129 refused; nested lists share the budget', () => {
  const h = new Harness()
  const puts = (n: number, p: string) => Array.from({ length: n }, (_, i) => opPut(`${p}${i}`, 'x'))
  assert.equal(h.txn({ success: puts(128, 'm/') }).responses.length, 128)
  assert.throws(() => h.txn({ success: puts(129, 'n/') }), /too many operations in txn request/)
  assert.throws(() => h.txn({ compare: Array.from({ length: 129 }, () => cmp('a')) }), /too many operations/)
  assert.equal(h.txn({ success: puts(65, 'o/'), failure: puts(65, 'p/') }).succeeded, true)
  assert.throws(() => h.txn({ success: [...puts(100, 'q/'), opTxn({ success: puts(29, 'r/') })] }), /too many operations/)
  const small = new Harness({ maxTxnOps: 2 })
  assert.throws(() => small.txn({ success: puts(3, 's/') }), /too many operations/)
})

const duplicates: [string, Partial<TxnRequest>, boolean][] = [
  ['two puts of the same key', { success: [opPut('k', '1'), opPut('k', '2')] }, true],
  ['a put inside a range deleted in the same list', { success: [opDel('a', { rangeEnd: b('z') }), opPut('k', '1')] }, true],
  ['a put before a delete of the same key', { success: [opPut('k', '1'), opDel('k')] }, true],
  ['a put repeated in a nested txn', { success: [opPut('k', '1'), opTxn({ success: [opPut('k', '2')] })] }, true],
  ['a put in a nested txn under a delete of the parent list', { success: [opDel('k'), opTxn({ failure: [opPut('k', '2')] })] }, true],
  ['a delete in a nested txn over a put of the parent list', { success: [opPut('k', '1'), opTxn({ success: [opDel('k')] })] }, true],
  ['a put under a "\\0"-ended delete', { success: [opDel('a', { rangeEnd: new Uint8Array([0]) }), opPut('k', '1')] }, true],
  ['two deletes of the same key', { success: [opDel('k'), opDel('k')] }, false],
  ['the same key in success and failure', { success: [opPut('k', '1')], failure: [opPut('k', '2')] }, false],
  ['a put and a range of the same key', { success: [opPut('k', '1'), opRange('k')] }, false],
  ['the same key in both branches of a nested txn', { success: [opTxn({ success: [opPut('k', '1')], failure: [opPut('k', '2')] })] }, false],
  ['a put outside a deleted range', { success: [opDel('a', { rangeEnd: b('c') }), opPut('c', '1')] }, false],
  // etcd 3.4 lets these two through; here they would break the one row per key and revision.
  ['a delete in a nested txn after a sibling nested txn put the key', { success: [opTxn({ success: [opPut('k', '1')] }), opTxn({ success: [opDel('k')] })] }, true],
  ['a ranged delete in a nested failure branch after a sibling put', { success: [opTxn({ success: [opPut('k', '1')] }), opTxn({ failure: [opDel('a', { rangeEnd: b('z') })] })] }, true],
  ['a put and a delete of the same key in the two branches of one nested txn', { success: [opTxn({ success: [opPut('k', '1')], failure: [opDel('k')] })] }, false],
]
for (const [name, t, dup] of duplicates) {
  test(`txn duplicate keys: ${name} ${dup ? 'is refused' : 'is allowed'}`, () => {
    const h = new Harness()
    if (dup) assert.throws(() => h.txn(t), /duplicate key given in txn request/)
    else assert.doesNotThrow(() => h.txn(t))
  })
}

test('txn: errors count only in the branch that runs', () => {
  const h = new Harness()
  h.put('k', 'v')
  const skipped = h.txn({ compare: [cmp('k', { version: 1 })], success: [opPut('a', '1')], failure: [opPut('b', '1', { lease: 99n })] })
  assert.equal(skipped.succeeded, true)
  assert.throws(() => h.txn({ success: [opPut('c', '1'), opPut('d', '1', { lease: 99n })] }), /requested lease not found/)
  assert.throws(() => h.txn({ success: [opPut('missing', '', { ignoreValue: true })] }), /key not found/)
  assert.throws(() => h.txn({ success: [opRange('k', { revision: 100 })] }), /future revision/)
  assert.equal(h.store.currentRevision(), 3, 'failed txns applied nothing')
  assert.deepEqual(keys(h.get('a', { rangeEnd: b('z') }).kvs), ['a', 'k'])
})

test('txn: a put error is reported before a range error; compacted ranges fail the txn', () => {
  const h = new Harness()
  h.put('k', '1')
  h.put('k', '2')
  h.compact(3)
  assert.throws(() => h.txn({ success: [opRange('k', { revision: 100 }), opPut('z', '1', { lease: 5n })] }), /lease not found/)
  assert.throws(() => h.txn({ success: [opRange('k', { revision: 2 })] }), /has been compacted/)
  assert.throws(() => h.txn({ success: [opRange('k', { revision: 4 })] }), /future revision/, 'the txn’s own revision is still future')
})

test('txn: empty keys in compares or ops are refused', () => {
  const h = new Harness()
  assert.throws(() => h.txn({ compare: [cmp('')] }), /key is not provided/)
  assert.throws(() => h.txn({ failure: [opDel('')] }), /key is not provided/)
  assert.throws(() => h.txn({ success: [opTxn({ success: [opRange('')] })] }), /key is not provided/)
})

test('txn: readTxn answers a txn that only reads as its apply would, and refuses one that may write', () => {
  const h = new Harness()
  h.put('a', '1')
  h.put('a', '2')
  const reads: Partial<TxnRequest> = {
    compare: [cmp('a', { target: 'VERSION', result: 'EQUAL', version: 2 })],
    success: [opRange('a'), opRange('a', { revision: 2 })],
    failure: [opRange('b')],
  }
  const read = h.store.readTxn(txnReq(reads))
  assert.equal(h.store.appliedIndex(), 2, 'nothing applied')
  assert.deepEqual(read, h.txn(reads), 'the same answer as applied')
  assert.throws(() => h.store.readTxn(txnReq({ success: [opRange('a', { revision: 9 })] })), /required revision is a future revision/)
  // A nested txn is not read-only, as in etcd (its txns are proposed), even one that only reads.
  assert.throws(() => h.store.readTxn(txnReq({ failure: [opTxn({ success: [opRange('a')] })] })), /readTxn of a txn that is not read-only/)
  assert.throws(() => h.store.readTxn(txnReq({ success: Array.from({ length: 129 }, () => opRange('a')) })), /too many operations/)
})
