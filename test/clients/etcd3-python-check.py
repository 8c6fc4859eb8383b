"""
Drives a real etcd gRPC client, python-etcd3 (Debian's python3-etcd3, the `etcd3` package 0.12 on
grpcio), against one endpoint of an edgecd cluster and checks what it gets back against what etcd
3.4 answers (each expected answer here was taken from a run against etcd): kv (prev_kv, sorts,
ranges, the options the client drops, sent through its raw stubs), transactions (every compare
target and result, nested, the duplicate-key and op-count errors), leases (grant, min and max
TTL, given IDs, time-to-live, keys, keepalive, revoke, expiry), watches (callbacks, iterators,
watch_once, prev_kv, start_revision, filters, cancel, a compacted revision), compaction, locks,
members, status, hash, defragment, alarms (NOSPACE refusing writes), snapshot, and the errors
(gRPC code and etcd message) of bad requests.

    python3 etcd3-python-check.py HOST PORT PREFIX

Revisions are checked relative to the one at the start: nothing else may write meanwhile. The
script revokes its leases, disarms its alarms and deletes its keys at the end, so it can run
again on the same cluster with another PREFIX. Prints one line per check and "OK" at the end; a
failed check exits non-zero; a watchdog ends a run that stalls.
"""
import io
import os
import queue
import sys
import threading
import time

import grpc
import etcd3
import etcd3.etcdrpc as rpc
import etcd3.exceptions as exc
import etcd3.transactions as tx

host, port, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = etcd3.client(host=host, port=port, timeout=10)
T = c.transactions
R = rpc.RangeRequest
WR = rpc.WatchRequest
WC = rpc.WatchCreateRequest


def stalled():
    print('stalled after the last check above (a watch that never delivers?)', flush=True)
    os._exit(3)


watchdog = threading.Timer(100, stalled)
watchdog.daemon = True
watchdog.start()


def check(label, got, want):
    assert got == want, '%s: got %r, want %r' % (label, got, want)
    print('%s: %r' % (label, got), flush=True)


def fails(label, f, code, details, cls=None):
    """f() must fail with gRPC status `code` and `details` (as python-etcd3 raises it: some codes as
    its own exception classes, with the gRPC error as their context)."""
    try:
        got = f()
    except grpc.RpcError as e:
        assert cls is None, '%s: raised %r, want %s' % (label, e, cls.__name__)
        check(label, (e.code(), e.details()), (code, details))
        return
    except exc.Etcd3Exception as e:
        assert cls is not None and isinstance(e, cls), '%s: raised %r' % (label, e)
        ctx = e.__context__
        assert isinstance(ctx, grpc.RpcError), '%s: %r has no gRPC error as its context' % (label, e)
        check(label, (type(e).__name__, ctx.code(), ctx.details()), (cls.__name__, code, details))
        return
    raise AssertionError('%s: no error, got %r' % (label, got))


def k(name):
    return prefix + name


def kb(name):
    return k(name).encode()


OUT_OF_RANGE = grpc.StatusCode.OUT_OF_RANGE
INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
FAILED = grpc.StatusCode.FAILED_PRECONDITION
EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED
COMPACTED = 'etcdserver: mvcc: required revision has been compacted'
FUTURE = 'etcdserver: mvcc: required revision is a future revision'
NO_LEASE = 'etcdserver: requested lease not found'
NO_KEY = 'etcdserver: key is not provided'
DUPLICATE = 'etcdserver: duplicate key given in txn request'
NOSPACE = 'etcdserver: mvcc: database space exceeded'
NO_MEMBER = 'etcdserver: member not found'

base = c.get_response(k('start')).header.revision


def rev(n):
    """The revision n writes after the start."""
    return base + n


def meta(value, m):
    """(value, key, create, mod, version, lease) with the revisions relative to the start."""
    if m is None:
        return (value, None)
    return (value, m.key, m.create_revision - base, m.mod_revision - base, m.version, m.lease_id)


def metas(pairs):
    return [meta(v, m) for v, m in pairs]


def keys(pairs):
    return [m.key for _, m in pairs]


def ours(pairs):
    """Only this run's keys (other runs' keys may be in the store too)."""
    return [(v, m) for v, m in pairs if m.key.startswith(prefix.encode())]


def range_keys(answer):
    return [kv.key for kv in answer.kvs]


# ---- kv ------------------------------------------------------------------------------------------

check('put: its revision', c.put(k('a'), 'one').header.revision, rev(1))
put = c.put(k('a'), 'two', prev_kv=True)
check('put prev_kv: the previous pair', (put.header.revision - base, put.prev_kv.key, put.prev_kv.value, put.prev_kv.version,
                                         put.prev_kv.create_revision - base, put.prev_kv.mod_revision - base), (2, kb('a'), b'one', 1, 1, 1))
put = c.put(k('a'), 'two', prev_kv=True)
check('put prev_kv of the same value', (put.header.revision - base, put.prev_kv.value, put.prev_kv.version), (3, b'two', 2))
put = c.put(k('b'), 'bee', prev_kv=True)
check('put prev_kv of a new key: none', (put.header.revision - base, put.HasField('prev_kv')), (4, False))
check('get', meta(*c.get(k('a'))), (b'two', kb('a'), 1, 3, 3, 0))
check('get: header revision', c.get(k('a'))[1].response_header.revision, rev(4))
deadline = time.time() + 3
while True:  # a follower may not have applied the put yet (as with etcd)
    got = meta(*c.get(k('a'), serializable=True))
    if got == (b'two', kb('a'), 1, 3, 3, 0) or time.time() > deadline:
        break
    time.sleep(0.05)
check('get serializable', got, (b'two', kb('a'), 1, 3, 3, 0))
check('get a missing key', c.get(k('missing')), (None, None))
missing = c.get_response(k('missing'))
check('get_response of a missing key', (missing.count, list(missing.kvs), missing.more, missing.header.revision - base), (0, [], False, 4))
c.put(k('c'), 'aaa')
c.put(k('d'), 'zzz')
c.put(k('b'), 'mmm')
c.put(k('e'), '')
check('put binary value', c.put(k('f'), b'\x00\xff\x80').header.revision, rev(9))
check('get binary value', meta(*c.get(k('f'))), (b'\x00\xff\x80', kb('f'), 9, 9, 1, 0))

# etcd sorts ascending when only a target other than the key is given.
ASC = {
    'key': 'abcdef', 'version': 'cdefba', 'create': 'abcdef', 'mod': 'acdbef', 'value': 'efcbad',
}
DESC = {
    'key': 'fedcba', 'version': 'abcdef', 'create': 'fedcba', 'mod': 'febdca', 'value': 'dabcfe',
}
for order, want in ((None, ASC), ('ascend', ASC), ('descend', DESC)):
    for target in ('key', 'version', 'create', 'mod', 'value'):
        check('get_prefix sort_order=%s sort_target=%s' % (order, target),
              keys(c.get_prefix(k(''), sort_order=order, sort_target=target)), [kb(x) for x in want[target]])
check('get_prefix keys_only', metas(c.get_prefix(k(''), keys_only=True)), [
    (b'', kb('a'), 1, 3, 3, 0), (b'', kb('b'), 4, 7, 2, 0), (b'', kb('c'), 5, 5, 1, 0),
    (b'', kb('d'), 6, 6, 1, 0), (b'', kb('e'), 8, 8, 1, 0), (b'', kb('f'), 9, 9, 1, 0)])
check('get_prefix', [(v, m.key) for v, m in c.get_prefix(k(''))], [
    (b'two', kb('a')), (b'mmm', kb('b')), (b'aaa', kb('c')), (b'zzz', kb('d')), (b'', kb('e')), (b'\x00\xff\x80', kb('f'))])
one = c.get_prefix_response(k('b'))
check('get_prefix_response', (one.count, one.more, [kv.value for kv in one.kvs], one.header.revision - base), (1, False, [b'mmm'], 9))
check('get_prefix with nothing under it', list(c.get_prefix(k('zz'))), [])
check('get_range', metas(c.get_range(k('b'), k('d'))), [(b'mmm', kb('b'), 4, 7, 2, 0), (b'aaa', kb('c'), 5, 5, 1, 0)])
check('get_range descending by value', keys(c.get_range(k('b'), k('e'), sort_order='descend', sort_target='value')), [kb('d'), kb('b'), kb('c')])
check('get_range with its end before its start', list(c.get_range(k('d'), k('b'))), [])
check('get_range to \\0 (every key from)', keys(ours(c.get_range(k('d'), '\0'))), [kb('d'), kb('e'), kb('f')])
check('get_all', keys(ours(c.get_all())), [kb(x) for x in 'abcdef'])
check('get_all descending by mod revision', keys(ours(c.get_all(sort_order='descend', sort_target='mod'))), [kb(x) for x in 'febdca'])
check('get_all keys_only', [v for v, _ in ours(c.get_all(keys_only=True))], [b''] * 6)
check('get_all_response counts every key', c.get_all_response(keys_only=True).count >= 6, True)

end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
whole = dict(key=kb(''), range_end=end.encode())
r = c.kvstub.Range(R(limit=2, **whole))
check('range limit 2', (range_keys(r), r.more, r.count), ([kb('a'), kb('b')], True, 6))
r = c.kvstub.Range(R(limit=2, sort_order=R.DESCEND, sort_target=R.KEY, **whole))
check('range limit 2, descending', (range_keys(r), r.more, r.count), ([kb('f'), kb('e')], True, 6))
r = c.kvstub.Range(R(count_only=True, **whole))
check('range count_only', (list(r.kvs), r.count, r.more), ([], 6, False))
r = c.kvstub.Range(R(count_only=True, limit=1, **whole))
check('range count_only with a limit', (list(r.kvs), r.count, r.more), ([], 6, False))
r = c.kvstub.Range(R(keys_only=True, limit=1, **whole))
check('range keys_only with a limit', ([(kv.key, kv.value, kv.version) for kv in r.kvs], r.more, r.count), ([(kb('a'), b'', 3)], True, 6))
for field, want in (('min_mod_revision', 'bdef'), ('max_mod_revision', 'acd'), ('min_create_revision', 'def'), ('max_create_revision', 'abcd')):
    r = c.kvstub.Range(R(keys_only=True, **{field: rev(6)}, **whole))
    check('range %s' % field, (range_keys(r), r.count), ([kb(x) for x in want], 6))
r = c.kvstub.Range(R(key=kb('a'), revision=rev(1)))
check('range at an old revision', [(kv.value, kv.mod_revision - base, kv.version) for kv in r.kvs], [(b'one', 1, 1)])
fails('range at a future revision', lambda: c.kvstub.Range(R(key=kb('a'), revision=rev(1000))), OUT_OF_RANGE, FUTURE)
check('range at a negative revision: the current one', [kv.value for kv in c.kvstub.Range(R(key=kb('a'), revision=-5)).kvs], [b'two'])
check('range with a negative limit: no limit', len(c.kvstub.Range(R(keys_only=True, limit=-1, **whole)).kvs), 6)
fails('get of the empty key', lambda: c.get(''), INVALID, NO_KEY)
fails('put of the empty key', lambda: c.put('', 'x'), INVALID, NO_KEY)
fails('delete of the empty key', lambda: c.delete(''), INVALID, NO_KEY)
check('put_if_not_exists of a new key', c.put_if_not_exists(k('pine'), 'v'), True)
check('put_if_not_exists of an existing key', c.put_if_not_exists(k('pine'), 'w'), False)
check('replace with the right value', c.replace(k('a'), 'two', 'three'), True)
check('replace with a stale value', c.replace(k('a'), 'two', 'four'), False)
check('replace of a missing key', c.replace(k('nokey'), '', 'x'), False)
check('get after replace', meta(*c.get(k('a'))), (b'three', kb('a'), 1, 11, 4, 0))
check('delete', c.delete(k('b')), True)
check('delete of a deleted key', c.delete(k('b')), False)
d = c.delete(k('c'), prev_kv=True, return_response=True)
check('delete prev_kv', (d.header.revision - base, d.deleted, [(kv.key, kv.value, kv.mod_revision - base) for kv in d.prev_kvs]), (13, 1, [(kb('c'), b'aaa', 5)]))
d = c.delete(k('c'), prev_kv=True, return_response=True)
check('delete prev_kv of a missing key', (d.header.revision - base, d.deleted, list(d.prev_kvs)), (13, 0, []))
d = c.delete_prefix(k('pin'))
check('delete_prefix', (d.header.revision - base, d.deleted), (14, 1))
d = c.kvstub.DeleteRange(rpc.DeleteRangeRequest(key=kb('d'), range_end=kb('g'), prev_kv=True))
check('delete range prev_kv', (d.deleted, [(kv.key, kv.value) for kv in d.prev_kvs]), (3, [(kb('d'), b'zzz'), (kb('e'), b''), (kb('f'), b'\x00\xff\x80')]))
fails('put ignore_value of a missing key', lambda: c.kvstub.Put(rpc.PutRequest(key=kb('iv'), ignore_value=True)), INVALID, 'etcdserver: key not found')
fails('put ignore_lease of a missing key', lambda: c.kvstub.Put(rpc.PutRequest(key=kb('iv'), value=b'x', ignore_lease=True)), INVALID, 'etcdserver: key not found')
fails('put ignore_value with a value', lambda: c.kvstub.Put(rpc.PutRequest(key=kb('a'), value=b'x', ignore_value=True)), INVALID, 'etcdserver: value is provided')
put = c.kvstub.Put(rpc.PutRequest(key=kb('a'), ignore_value=True, prev_kv=True))
check('put ignore_value keeps the value', (put.header.revision - base, put.prev_kv.value, c.get(k('a'))[0], c.get(k('a'))[1].version), (16, b'three', b'three', 5))

# ---- transactions --------------------------------------------------------------------------------


class LeaseCompare(tx.BaseCompare):
    """A compare on a key's lease (python-etcd3 0.12 has none of its own)."""

    def build_compare(self, compare):
        compare.target = rpc.Compare.LEASE
        compare.lease = int(self.value)


def txn(compare, success=(), failure=()):
    ok, responses = c.transaction(compare=list(compare), success=list(success), failure=list(failure))
    out = []
    for r in responses:
        if isinstance(r, list):
            out.append(('range', metas(r)))
        else:
            kind = r.WhichOneof('response')
            inner = getattr(r, kind)
            out.append((kind, inner.header.revision - base if inner.header.revision else 0))
    return ok, out


c.put(k('t1'), 'v1')
c.put(k('t2'), 'v2')
c.put(k('t2'), 'v2b')
t1 = c.get(k('t1'))[1]
T1 = ('range', [(b'v1', kb('t1'), 17, 17, 1, 0)])
T2 = ('range', [(b'v2b', kb('t2'), 18, 19, 2, 0)])
for label, compare, want in (
    ('value ==', T.value(k('t1')) == 'v1', True),
    ('value == (a different value)', T.value(k('t1')) == 'nope', False),
    ('value !=', T.value(k('t1')) != 'nope', True),
    ('value <', T.value(k('t1')) < 'v2', True),
    ('value >', T.value(k('t1')) > 'v0', True),
    ('value > (a greater value)', T.value(k('t1')) > 'v9', False),
    ('value == of a missing key', T.value(k('none')) == '', False),
    ('value != of a missing key', T.value(k('none')) != 'x', False),
    ('version ==', T.version(k('t2')) == 2, True),
    ('version >', T.version(k('t2')) > 1, True),
    ('version <', T.version(k('t2')) < 2, False),
    ('version !=', T.version(k('t2')) != 2, False),
    ('version == 0 of a missing key', T.version(k('none')) == 0, True),
    ('create ==', T.create(k('t1')) == t1.create_revision, True),
    ('create == 0 of a missing key', T.create(k('none')) == 0, True),
    ('create >', T.create(k('t2')) > t1.create_revision, True),
    ('mod ==', T.mod(k('t1')) == t1.mod_revision, True),
    ('mod <', T.mod(k('t1')) < t1.mod_revision, False),
    ('mod !=', T.mod(k('t2')) != t1.mod_revision, True),
    ('lease == 0', LeaseCompare(k('t1')) == 0, True),
    ('lease == 0 of a missing key', LeaseCompare(k('none')) == 0, True),
    ('lease != 0', LeaseCompare(k('t1')) != 0, False),
    ('lease > 0', LeaseCompare(k('t1')) > 0, False),
    ('version > 0 over a range', tx.Version(k('t'), k('u')) > 0, True),
    ('version > 1 over a range', tx.Version(k('t'), k('u')) > 1, False),
    ('value == over a range', tx.Value(k('t'), k('u')) == 'v1', False),
    ('create != 0 over a range', tx.Create(k('t'), k('u')) != 0, True),
):
    check('txn ' + label, txn([compare], [T.get(k('t1'))], [T.get(k('t2'))]), (want, [T1 if want else T2]))
check('txn of every op', txn(
    [T.value(k('t1')) == 'v1', T.version(k('t2')) == 2],
    [T.put(k('t3'), 'v3'), T.put(k('t1'), 'v1b', prev_kv=True), T.get(k('t'), k('u')), T.delete(k('t2'), prev_kv=True), T.delete(k('t9'), k('t99'))],
    [T.put(k('tf'), 'fail')]), (True, [
        ('response_put', 20), ('response_put', 20),
        ('range', [(b'v1b', kb('t1'), 17, 20, 2, 0), (b'v2b', kb('t2'), 18, 19, 2, 0), (b'v3', kb('t3'), 20, 20, 1, 0)]),
        ('response_delete_range', 20), ('response_delete_range', 20)]))
check('txn failure branch', txn([T.value(k('t1')) == 'v1'], [T.put(k('ts'), 'ok')], [T.put(k('tf'), 'fail'), T.get(k('tf'))]),
      (False, [('response_put', 21), ('range', [(b'fail', kb('tf'), 21, 21, 1, 0)])]))
check('txn without compares', txn([], [T.put(k('t4'), 'v4')], [T.put(k('t5'), 'v5')]), (True, [('response_put', 22)]))
check('empty txn', txn([], [], []), (True, []))
ok, responses = c.transaction(
    compare=[T.version(k('t1')) > 0],
    success=[T.txn([T.value(k('t1')) == 'v1b'], [T.put(k('n1'), 'x'), T.get(k('n1'))], [T.put(k('n2'), 'y')]),
             T.txn([T.value(k('t1')) == 'zzz'], [T.put(k('n3'), 'x')], [T.get(k('t1')), T.txn([], [T.put(k('n4'), 'deep')], [])])],
    failure=[])
first, second = (r.response_txn for r in responses)
check('nested txns', (ok, first.succeeded, [x.WhichOneof('response') for x in first.responses],
                      [(kv.key, kv.create_revision - base) for kv in first.responses[1].response_range.kvs],
                      second.succeeded, [x.WhichOneof('response') for x in second.responses],
                      second.responses[1].response_txn.succeeded, second.responses[1].response_txn.responses[0].response_put.header.revision - base,
                      first.header.revision),
      (True, True, ['response_put', 'response_range'], [(kb('n1'), 23)], False, ['response_range', 'response_txn'], True, 23, 0))
check('nested txns wrote one revision', [m.mod_revision - base for _, m in c.get_prefix(k('n'))], [23, 23])
fails('txn: one key put in two nested txns', lambda: c.transaction([], [T.txn([], [T.put(k('dup'), 'a')], []), T.txn([], [T.put(k('dup'), 'b')], [])], []), INVALID, DUPLICATE)
fails('txn: one key put twice', lambda: c.transaction([], [T.put(k('d1'), 'a'), T.put(k('d1'), 'b')], []), INVALID, DUPLICATE)
fails('txn: one key put and deleted', lambda: c.transaction([], [T.put(k('d1'), 'a'), T.delete(k('d1'))], []), INVALID, DUPLICATE)
fails('txn: a put inside a deleted range', lambda: c.transaction([], [T.delete(k('d'), k('e')), T.put(k('d1'), 'a')], []), INVALID, DUPLICATE)
fails('txn: duplicates in the branch not taken', lambda: c.transaction([T.value(k('t1')) == 'v1b'], [T.put(k('d2'), 'ok')], [T.put(k('d2'), 'a'), T.put(k('d2'), 'b')]), INVALID, DUPLICATE)
fails('txn of 129 ops', lambda: c.transaction([], [T.put(k('many%d' % i), 'x') for i in range(129)], []), INVALID, 'etcdserver: too many operations in txn request')
check('txn of 128 ops', c.transaction([], [T.put(k('many%d' % i), 'x') for i in range(128)], [])[0], True)
fails('txn put with an unknown lease', lambda: c.transaction([], [T.put(k('ul'), 'x', lease=12345)], []), NOT_FOUND, NO_LEASE)
fails('txn range at a future revision', lambda: c.kvstub.Txn(rpc.TxnRequest(success=[rpc.RequestOp(request_range=R(key=kb('t1'), revision=rev(10000)))])), OUT_OF_RANGE, FUTURE)
fails('txn compare on the empty key', lambda: c.transaction([T.value('') == 'x'], [], []), INVALID, NO_KEY)
fails('txn put of the empty key', lambda: c.transaction([], [T.put('', 'x')], []), INVALID, NO_KEY)
check('delete_prefix of 128 keys', (c.delete_prefix(k('many')).deleted, c.get_response(k('x')).header.revision - base), (128, 25))

# ---- leases --------------------------------------------------------------------------------------
granted = []


def grant(ttl, lease_id=None):
    lease = c.lease(ttl, lease_id=lease_id)
    granted.append(lease.id)
    return lease


lease = grant(30)
check('lease grant', (lease.id != 0, lease.ttl), (True, 30))
check('lease grant of 1 s: the minimum TTL', grant(1).ttl, 2)
check('lease grant of 0 s', grant(0).ttl, 2)
check('lease grant of -5 s', grant(-5).ttl, 2)
fails('lease grant of more than 9000000000 s', lambda: grant(9000000001), OUT_OF_RANGE, 'etcdserver: too large lease TTL')
check('lease grant of 9000000000 s', grant(9000000000).ttl, 9000000000)
given = 0x1234567 + sum(prefix.encode())  # another ID per prefix: runs may overlap in lease lifetimes
check('lease grant with an ID', grant(30, lease_id=given).id, given)
fails('lease grant with an ID in use', lambda: c.lease(30, lease_id=given), FAILED, 'etcdserver: lease already exists', exc.PreconditionFailedError)
check('lease grant with a negative ID', grant(30, lease_id=-given).id, -given)
check('put with a lease', c.put(k('leased'), 'v', lease=lease).header.revision, rev(26))
check('put with a lease ID', c.put(k('leased2'), 'v', lease=lease.id).header.revision, rev(27))
check('get of a leased key', meta(*c.get(k('leased'))), (b'v', kb('leased'), 26, 26, 1, lease.id))
check('txn lease == its ID', txn([LeaseCompare(k('leased')) == lease.id], [T.get(k('leased'))], []), (True, [('range', [(b'v', kb('leased'), 26, 26, 1, lease.id)])]))
check('txn lease != its ID', txn([LeaseCompare(k('leased')) != lease.id], [], []), (False, []))
check('txn lease > 0', txn([LeaseCompare(k('leased')) > 0], [], []), (True, []))
check('lease remaining_ttl', 25 <= lease.remaining_ttl <= 30, True)
check('lease granted_ttl', lease.granted_ttl, 30)
check('lease keys', sorted(lease.keys), [kb('leased'), kb('leased2')])
info = c.get_lease_info(lease.id)
check('lease time-to-live', (info.ID == lease.id, info.grantedTTL, sorted(info.keys), info.header.revision - base), (True, 30, [kb('leased'), kb('leased2')], 27))
check('lease refresh', [(r.ID == lease.id, r.TTL, r.header.revision - base) for r in lease.refresh()], [(True, 30, 27)])
check('refresh of an unknown lease', [(r.ID, r.TTL) for r in c.refresh_lease(987654321)], [(987654321, 0)])
info = c.get_lease_info(987654321)
check('time-to-live of an unknown lease', (info.ID, info.TTL, info.grantedTTL, list(info.keys)), (987654321, -1, 0, []))
fails('revoke of an unknown lease', lambda: c.revoke_lease(987654321), NOT_FOUND, NO_LEASE)
fails('put with an unknown lease', lambda: c.put(k('x'), 'v', lease=987654321), NOT_FOUND, NO_LEASE)
listed = [x.ID for x in c.leasestub.LeaseLeases(rpc.LeaseLeasesRequest()).leases]
check('lease list', [i in listed for i in (lease.id, given, -given, granted[4])], [True] * 4)
put = c.put(k('leased2'), 'w', prev_kv=True)
check('put without a lease over a leased key', (put.header.revision - base, put.prev_kv.lease == lease.id), (28, True))
check('that key left the lease', sorted(lease.keys), [kb('leased')])
check('lease revoke', lease.revoke(), None)
check('its key is gone', c.get(k('leased')), (None, None))
check('the key that left it stays', c.get(k('leased2'))[0], b'w')
fails('revoke of a revoked lease', lease.revoke, NOT_FOUND, NO_LEASE)
check('time-to-live of a revoked lease', (lease.remaining_ttl, lease.granted_ttl, list(lease.keys)), (-1, 0, []))
check('refresh of a revoked lease', [r.TTL for r in lease.refresh()], [0])
check('revision after the revoke', c.get_response(k('x')).header.revision, rev(29))
granted.remove(lease.id)
keep = grant(20)
stream = c.leasestub.LeaseKeepAlive(iter([rpc.LeaseKeepAliveRequest(ID=keep.id), rpc.LeaseKeepAliveRequest(ID=777), rpc.LeaseKeepAliveRequest(ID=keep.id)]), 5)
check('keepalive stream of three', [(r.ID == keep.id, r.TTL) for r in stream], [(True, 20), (False, 0), (True, 20)])

short = c.lease(2)
check('put with a 2 s lease', c.put(k('short'), 'v', lease=short).header.revision, rev(30))
expiry = queue.Queue()
c.add_watch_callback(k('short'), expiry.put)
try:
    seen = expiry.get(timeout=10)
except queue.Empty:
    seen = None
check('the lease expires: its key is deleted', None if seen is None else [(type(e).__name__, e.key, e.mod_revision - base) for e in seen.events], [('DeleteEvent', kb('short'), 31)])
check('the expired key is gone', c.get(k('short')), (None, None))
check('time-to-live of an expired lease', c.get_lease_info(short.id).TTL, -1)

# ---- watches -------------------------------------------------------------------------------------
responses = queue.Queue()


def events(n, timeout=5):
    """Up to n events (or errors) that the callbacks got, as tuples with relative revisions."""
    out = []
    deadline = time.time() + timeout
    while len(out) < n:
        try:
            r = responses.get(timeout=max(0.01, deadline - time.time()))
        except queue.Empty:
            break
        if isinstance(r, Exception):
            out.append(('error', type(r).__name__, getattr(r, 'compacted_revision', None)))
            continue
        for e in r.events:
            prev = (e.prev_key, e.prev_value, e.prev_mod_revision - base) if e._event.HasField('prev_kv') else None
            out.append((type(e).__name__, e.key, e.value, e.create_revision and e.create_revision - base,
                        e.mod_revision - base, e.version, prev, r.header.revision - base))
    return out


w = c.add_watch_callback(k('w'), responses.put)
c.put(k('w'), '1')
c.put(k('w'), '2')
c.put(k('wx'), 'other')
c.delete(k('w'))
check('watch a key', events(3), [
    ('PutEvent', kb('w'), b'1', 32, 32, 1, None, 32),
    ('PutEvent', kb('w'), b'2', 32, 33, 2, None, 33),
    ('DeleteEvent', kb('w'), b'', 0, 35, 0, None, 35)])
check('cancel_watch', c.cancel_watch(w), None)
c.put(k('w'), '3')
check('nothing after cancel', events(1, 1), [])
check('cancel_watch again', c.cancel_watch(w), None)
w = c.add_watch_prefix_callback(k('w'), responses.put, prev_kv=True)
c.put(k('w'), '4')
c.put(k('wy'), 'new')
c.delete_prefix(k('w'))
check('watch a prefix with prev_kv', events(5), [
    ('PutEvent', kb('w'), b'4', 36, 37, 2, (kb('w'), b'3', 36), 37),
    ('PutEvent', kb('wy'), b'new', 38, 38, 1, None, 38),
    ('DeleteEvent', kb('w'), b'', 0, 39, 0, (kb('w'), b'4', 37), 39),
    ('DeleteEvent', kb('wx'), b'', 0, 39, 0, (kb('wx'), b'other', 34), 39),
    ('DeleteEvent', kb('wy'), b'', 0, 39, 0, (kb('wy'), b'new', 38), 39)])
c.cancel_watch(w)
w = c.add_watch_callback(k('w'), responses.put, start_revision=rev(32))
check('watch from an old revision', events(6), [
    ('PutEvent', kb('w'), b'1', 32, 32, 1, None, 39),
    ('PutEvent', kb('w'), b'2', 32, 33, 2, None, 39),
    ('DeleteEvent', kb('w'), b'', 0, 35, 0, None, 39),
    ('PutEvent', kb('w'), b'3', 36, 36, 1, None, 39),
    ('PutEvent', kb('w'), b'4', 36, 37, 2, None, 39),
    ('DeleteEvent', kb('w'), b'', 0, 39, 0, None, 39)])
c.cancel_watch(w)
w = c.add_watch_prefix_callback(k('w'), responses.put, start_revision=rev(33), prev_kv=True)
check('watch a prefix from an old revision with prev_kv', events(9), [
    ('PutEvent', kb('w'), b'2', 32, 33, 2, (kb('w'), b'1', 32), 39),
    ('PutEvent', kb('wx'), b'other', 34, 34, 1, None, 39),
    ('DeleteEvent', kb('w'), b'', 0, 35, 0, (kb('w'), b'2', 33), 39),
    ('PutEvent', kb('w'), b'3', 36, 36, 1, None, 39),
    ('PutEvent', kb('w'), b'4', 36, 37, 2, (kb('w'), b'3', 36), 39),
    ('PutEvent', kb('wy'), b'new', 38, 38, 1, None, 39),
    ('DeleteEvent', kb('w'), b'', 0, 39, 0, (kb('w'), b'4', 37), 39),
    ('DeleteEvent', kb('wx'), b'', 0, 39, 0, (kb('wx'), b'other', 34), 39),
    ('DeleteEvent', kb('wy'), b'', 0, 39, 0, (kb('wy'), b'new', 38), 39)])
c.cancel_watch(w)

iterator, cancel = c.watch(k('it'))
threading.Timer(0.3, lambda: (c.put(k('it'), 'a'), c.put(k('it'), 'b'))).start()
got = []
for e in iterator:
    got.append((type(e).__name__, e.key, e.value, e.mod_revision - base))
    if len(got) == 2:
        break
cancel()
check('watch iterator', got, [('PutEvent', kb('it'), b'a', 40), ('PutEvent', kb('it'), b'b', 41)])
iterator, cancel = c.watch_prefix(k('ip'))
threading.Timer(0.3, lambda: (c.put(k('ip1'), 'a'), c.delete(k('ip1')))).start()
got = []
for e in iterator:
    got.append((type(e).__name__, e.key, e.value, e.version))
    if len(got) == 2:
        break
cancel()
check('watch_prefix iterator', got, [('PutEvent', kb('ip1'), b'a', 1), ('DeleteEvent', kb('ip1'), b'', 0)])
iterator, cancel = c.watch_response(k('wr'))
threading.Timer(0.3, lambda: c.put(k('wr'), 'a')).start()
for r in iterator:
    got = (r.header.revision - base, [e.value for e in r.events])
    break
cancel()
check('watch_response', got, (44, [b'a']))
threading.Timer(0.3, lambda: c.put(k('once'), 'x')).start()
e = c.watch_once(k('once'), timeout=5)
check('watch_once', (type(e).__name__, e.key, e.value, e.mod_revision - base), ('PutEvent', kb('once'), b'x', 45))
try:
    c.watch_once(k('never'), timeout=0.5)
    check('watch_once with nothing to see times out', False, True)
except exc.WatchTimedOut:
    check('watch_once with nothing to see times out', True, True)
threading.Timer(0.3, lambda: c.put(k('oncep/1'), 'y')).start()
e = c.watch_prefix_once(k('oncep/'), timeout=5)
check('watch_prefix_once', (e.key, e.value), (kb('oncep/1'), b'y'))
threading.Timer(0.3, lambda: c.put(k('oncer'), 'z')).start()
r = c.watch_once_response(k('oncer'), timeout=5)
check('watch_once_response', (r.header.revision - base, [e.value for e in r.events]), (47, [b'z']))
w = c.add_watch_callback(k('fut'), responses.put, start_revision=rev(49))
c.put(k('fut'), '1')
c.put(k('fut'), '2')
check('watch from a future revision', [(x[2], x[4]) for x in events(1, 3)], [(b'2', 49)])
c.cancel_watch(w)
try:
    c.add_watch_callback(k('w'), responses.put, filters=[WC.NOPUT])
    check('watch filters through the client: refused by protobuf', False, True)
except AttributeError:
    check('watch filters through the client: refused by protobuf', True, True)


def raw_watch(steps, n, timeout=3):
    """Watch responses (as tuples) on a stream of its own: steps are requests to send or functions
    to call (writes), each followed by a short pause."""
    got = queue.Queue()
    done = threading.Event()

    def requests():
        for step in steps:
            if callable(step):
                step()
            else:
                yield step
            time.sleep(0.2)
        done.wait(timeout)

    call = c.watcher._watch_stub.Watch(requests())

    def read():
        try:
            for r in call:
                got.put(r)
        except grpc.RpcError as e:
            got.put(e)

    threading.Thread(target=read, daemon=True).start()
    out = []
    deadline = time.time() + timeout
    while len(out) < n:
        try:
            r = got.get(timeout=max(0.01, deadline - time.time()))
        except queue.Empty:
            break
        if isinstance(r, grpc.RpcError):
            out.append(('error', r.code(), r.details()))
            break
        out.append((r.watch_id, r.created, r.canceled, r.compact_revision and r.compact_revision - base, r.cancel_reason,
                    [(e.type, e.kv.key, e.kv.value, e.kv.mod_revision - base, e.HasField('prev_kv') and e.prev_kv.value) for e in r.events]))
    done.set()
    call.cancel()
    return out


PUT, DELETE = 0, 1  # mvccpb.Event.EventType
check('watch filter NOPUT', raw_watch([WR(create_request=WC(key=kb('fl'), filters=[WC.NOPUT])), lambda: (c.put(k('fl'), '1'), c.delete(k('fl')))], 2), [
    (0, True, False, 0, '', []), (0, False, False, 0, '', [(DELETE, kb('fl'), b'', 51, False)])])
check('watch filter NODELETE with prev_kv', raw_watch([
    WR(create_request=WC(key=kb('fl'), filters=[WC.NODELETE], prev_kv=True)), lambda: (c.put(k('fl'), '1'), c.put(k('fl'), '2'), c.delete(k('fl')))], 3), [
    (0, True, False, 0, '', []), (0, False, False, 0, '', [(PUT, kb('fl'), b'1', 52, False)]), (0, False, False, 0, '', [(PUT, kb('fl'), b'2', 53, b'1')])])
check('two watches on a stream, a cancel of an unknown ID, a cancel', raw_watch([
    WR(create_request=WC(key=kb('r1'))), WR(create_request=WC(key=kb('r2'))), WR(cancel_request=rpc.WatchCancelRequest(watch_id=999)),
    lambda: c.put(k('r2'), 'x'), WR(cancel_request=rpc.WatchCancelRequest(watch_id=0))], 5), [
    (0, True, False, 0, '', []), (1, True, False, 0, '', []), (1, False, False, 0, '', [(PUT, kb('r2'), b'x', 55, False)]), (0, False, True, 0, '', [])])
check('watch of the empty key', raw_watch([WR(create_request=WC(key=b''))], 1, 2), [(0, True, False, 0, '', [])])
check('an empty watch request: no answer', raw_watch([WR()], 1, 1), [])
check('watch of a range that ends before its key', raw_watch([WR(create_request=WC(key=kb('z'), range_end=kb('a')))], 2, 2), [
    (-1, True, True, 0, 'mvcc: watcher range is empty', [])])
check('watch of every key from one (range end \\0)', raw_watch([WR(create_request=WC(key=kb('zz'), range_end=b'\0')), lambda: c.put(k('zzz'), 'x')], 2, 2), [
    (0, True, False, 0, '', []), (0, False, False, 0, '', [(PUT, kb('zzz'), b'x', 56, False)])])

# ---- compaction ----------------------------------------------------------------------------------
now = c.get_response(k('x')).header.revision
check('revision before compacting', now, rev(56))
check('compact', c.compact(rev(51)), None)
fails('compact at the compacted revision', lambda: c.compact(rev(51)), OUT_OF_RANGE, COMPACTED)
fails('compact at an older revision', lambda: c.compact(rev(48)), OUT_OF_RANGE, COMPACTED)
fails('compact at a future revision', lambda: c.compact(rev(156)), OUT_OF_RANGE, FUTURE)
check('compact physical', c.compact(rev(53), physical=True), None)
fails('range at a compacted revision', lambda: c.kvstub.Range(R(key=kb('a'), revision=rev(52))), OUT_OF_RANGE, COMPACTED)
check('range at the compaction revision', c.kvstub.Range(R(key=kb('a'), revision=rev(53))).count, 1)
c.add_watch_callback(k('w'), responses.put, start_revision=rev(50))
check('watch from a compacted revision: RevisionCompactedError', events(1, 3), [('error', 'RevisionCompactedError', rev(53))])
check('the same on a stream of its own', raw_watch([WR(create_request=WC(key=kb('w'), start_revision=rev(50)))], 2, 2), [
    (0, True, False, 0, '', []), (0, False, True, 53, '', [])])
fails('compact at revision 0', lambda: c.compact(0), OUT_OF_RANGE, COMPACTED)
fails('compact at a negative revision', lambda: c.compact(-1), OUT_OF_RANGE, COMPACTED)

# ---- locks ---------------------------------------------------------------------------------------
first = c.lock(prefix + 'lock', ttl=30)
second = c.lock(prefix + 'lock', ttl=30)
check('lock key', first.key, '/locks/' + prefix + 'lock')
check('is_acquired before acquire', first.is_acquired(), False)
try:
    first.refresh()
    check('refresh before acquire: ValueError', False, True)
except ValueError:
    check('refresh before acquire: ValueError', True, True)
check('acquire', first.acquire(timeout=2), True)
check('is_acquired', first.is_acquired(), True)
held = c.get(first.key)
check('the lock key holds its uuid under its lease', (held[0] == first.uuid, held[1].lease_id == first.lease.id), (True, True))
# timeout=0: python-etcd3 0.12's waiting between tries breaks on Debian's tenacity (TypeError).
check('a second lock is refused while it is held', second.acquire(timeout=0), False)
check('and is not acquired', second.is_acquired(), False)
check('lock refresh', [r.TTL for r in first.refresh()], [30])
check('release by the one that does not hold it', second.release(), False)
check('release', first.release(), True)
check('the second lock gets it', second.acquire(timeout=0), True)
check('its holder changed', (first.is_acquired(), second.is_acquired()), (False, True))
check('release of the second', second.release(), True)
check('release again', second.release(), False)
with c.lock(prefix + 'ctx', ttl=10) as held:
    check('a lock as a context manager', held.is_acquired(), True)
check('released on leaving it', c.get('/locks/' + prefix + 'ctx'), (None, None))
for lk in (first, second, held):
    if lk.lease is not None:
        granted.append(lk.lease.id)
check('revision after the locks', c.get_response(k('x')).header.revision, rev(62))

# ---- cluster and maintenance ---------------------------------------------------------------------
members = list(c.members)
check('members', all(m.id != 0 and m.name and list(m.peer_urls) and list(m.client_urls) for m in members) and len(members) >= 1, True)
check('a member has no alarms', list(members[0].active_alarms), [])
status = c.status()
check('status', (status.version, status.db_size > 0, status.leader is not None and status.leader.id in [m.id for m in members],
                 status.raft_index > 0, status.raft_term > 0), ('3.4.23', True, True, True, True))
check('hash', isinstance(c.hash(), int), True)
hkv = c.maintenancestub.HashKV(rpc.HashKVRequest(revision=0))
check('hashkv', hkv.compact_revision, rev(53))
fails('hashkv at a compacted revision', lambda: c.maintenancestub.HashKV(rpc.HashKVRequest(revision=rev(1))), OUT_OF_RANGE, COMPACTED)
fails('hashkv at a future revision', lambda: c.maintenancestub.HashKV(rpc.HashKVRequest(revision=rev(1000))), OUT_OF_RANGE, FUTURE)
check('defragment', c.defragment(), None)
check('list_alarms', list(c.list_alarms()), [])
check('list_alarms of NOSPACE', list(c.list_alarms(alarm_type='no space')), [])
check('disarm_alarm with none raised', c.disarm_alarm(), [])
NOSPACE_ALARM = rpc.NOSPACE
m0 = members[0].id
check('create_alarm', [(a.alarm_type, a.member_id == m0) for a in c.create_alarm(member_id=m0)], [(NOSPACE_ALARM, True)])
check('list_alarms after it', [(a.alarm_type, a.member_id == m0) for a in c.list_alarms()], [(NOSPACE_ALARM, True)])
fails('put under NOSPACE', lambda: c.put(k('nospace'), 'x'), EXHAUSTED, NOSPACE)
fails('txn put under NOSPACE', lambda: c.transaction([], [T.put(k('nospace'), 'x')], []), EXHAUSTED, NOSPACE)
fails('lease grant under NOSPACE', lambda: c.lease(5), EXHAUSTED, NOSPACE)
check('get under NOSPACE', c.get(k('a'))[0], b'three')
check('delete under NOSPACE', c.delete(k('a')), True)
check('disarm_alarm', [(a.alarm_type, a.member_id == m0) for a in c.disarm_alarm(member_id=m0)], [(NOSPACE_ALARM, True)])
check('list_alarms after disarming', list(c.list_alarms()), [])
check('put after disarming', c.put(k('nospace'), 'x').header.revision, rev(64))
check('create_alarm for member 0', [(a.alarm_type, a.member_id) for a in c.create_alarm()], [(NOSPACE_ALARM, 0)])
check('disarm_alarm for member 0', [(a.alarm_type, a.member_id) for a in c.disarm_alarm()], [(NOSPACE_ALARM, 0)])
check('create_alarm for an unknown member', [(a.alarm_type, a.member_id) for a in c.create_alarm(member_id=424242)], [(NOSPACE_ALARM, 424242)])
check('list_alarms shows it', [(a.alarm_type, a.member_id) for a in c.list_alarms()], [(NOSPACE_ALARM, 424242)])
check('disarm_alarm for it', [(a.alarm_type, a.member_id) for a in c.disarm_alarm(member_id=424242)], [(NOSPACE_ALARM, 424242)])
check('list_alarms at the end', list(c.list_alarms()), [])
snapshot = io.BytesIO()
c.snapshot(snapshot)
check('snapshot', len(snapshot.getvalue()) > 0, True)
fails('remove_member of an unknown member', lambda: c.remove_member(424242), NOT_FOUND, NO_MEMBER)
fails('update_member of an unknown member', lambda: c.update_member(424242, ['http://127.0.0.1:1']), NOT_FOUND, NO_MEMBER)
check('update_member with its own peer URLs', c.update_member(members[0].id, list(members[0].peer_urls)), None)
fails('add_member with a peer URL in use', lambda: c.add_member(list(members[0].peer_urls)), FAILED, 'etcdserver: Peer URLs already exists', exc.PreconditionFailedError)
fails('add_member with a bad URL', lambda: c.add_member(['not a url']), INVALID, 'etcdserver: given member URLs are invalid')
fails('add_member with no URL', lambda: c.add_member([]), INVALID, 'etcdserver: given member URLs are invalid')
fails('move leader to an unknown member', lambda: c.maintenancestub.MoveLeader(rpc.MoveLeaderRequest(targetID=424242)), FAILED, 'etcdserver: bad leader transferee')
check('revisions this run wrote', c.get_response(k('x')).header.revision, rev(64))

# ---- clean up: leases, keys ----------------------------------------------------------------------
for lease_id in granted:
    try:
        c.revoke_lease(lease_id)
    except grpc.RpcError as e:
        assert e.code() == NOT_FOUND, e  # expired already
check('delete_prefix of what is left', c.delete_prefix(k('')).deleted > 0, True)
check('nothing left', list(c.get_prefix(k(''))), [])
with etcd3.client(host=host, port=port, timeout=10) as other:
    check('a second client', other.get(k('nokey')), (None, None))
try:
    other.get(k('a'))
    check('a closed client refuses calls', False, True)
except ValueError:
    check('a closed client refuses calls', True, True)
watchdog.cancel()
print('OK', flush=True)
os._exit(0)  # the client's watch thread would keep the interpreter waiting
