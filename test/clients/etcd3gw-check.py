"""
Drives a real etcd JSON-gateway client, etcd3gw (Debian's python3-etcd3gw), against one endpoint
of an edgecd cluster and checks what it gets back: kv, transactions (create, replace), prefixes,
leases (ttl, keys, refresh, revoke), locks, watches (a burst of puts, a prefix delete, watch_once).

    python3 etcd3gw-check.py HOST PORT PREFIX

Prints one line per check and "OK" at the end; an assertion failure exits non-zero.
"""
import os
import sys
import threading

from etcd3gw.client import Etcd3Client
from etcd3gw.exceptions import WatchTimedOut
from etcd3gw.utils import _encode

host, port, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
# etcd3gw 2.0 defaults to /v3alpha/, which etcd 3.4 no longer serves either.
c = Etcd3Client(host=host, port=port, api_path='/v3/')


def stalled():
    print('stalled after the last check above (a watch that never delivers?)', flush=True)
    os._exit(3)


watchdog = threading.Timer(40, stalled)
watchdog.daemon = True
watchdog.start()


def check(label, got, want):
    assert got == want, '%s: got %r, want %r' % (label, got, want)
    print('%s: %r' % (label, got), flush=True)


def key(name):
    return prefix + name


check('status has a leader', int(c.status()['leader']) > 0, True)
check('members', len(c.members()), 3)

check('put', c.put(key('a'), 'one'), True)
check('get', c.get(key('a')), [b'one'])
value, meta = c.get(key('a'), metadata=True)[0]
check('get with metadata', (value, meta['key'], meta['version']), (b'one', key('a').encode(), '1'))
check('get a missing key', c.get(key('missing')), [])
check('create over an existing key', c.create(key('a'), 'x'), False)
check('create a new key', c.create(key('b'), 'two'), True)
check('replace with the right value', c.replace(key('a'), 'one', 'uno'), True)
check('replace with a stale value', c.replace(key('a'), 'one', 'eins'), False)
check('get_prefix', [(v, m['key']) for v, m in c.get_prefix(key(''))], [(b'uno', key('a').encode()), (b'two', key('b').encode())])
check('get_prefix descending', [v for v, _ in c.get_prefix(key(''), sort_order='descend', sort_target='key')], [b'two', b'uno'])
check('delete', c.delete(key('b')), True)
check('delete a missing key', c.delete(key('b')), False)

lease = c.lease(30)
check('lease granted', lease.id > 0, True)
check('put under the lease', c.put(key('leased'), 'v', lease=lease), True)
check('lease ttl', 25 <= lease.ttl() <= 30, True)
check('lease keys', lease.keys(), [key('leased').encode()])
check('lease refresh', lease.refresh(), 30)
check('lease revoke', lease.revoke(), True)
check('its key is gone', c.get(key('leased')), [])
check('refresh of a revoked lease', lease.refresh(), -1)
check('ttl of a revoked lease', lease.ttl(), -1)

first = c.lock(prefix + 'lock', ttl=30)
second = c.lock(prefix + 'lock', ttl=30)
check('lock acquired', first.acquire(), True)
check('lock is_acquired', first.is_acquired(), True)
check('a second holder is refused', second.acquire(), False)
check('lock refresh', first.refresh(), 30)
check('lock release', first.release(), True)
check('the second holder gets it', second.acquire(), True)
check('and releases it', second.release(), True)
first.lease.revoke()
second.lease.revoke()

# Watch a prefix while puts go out together (their messages leave close together), then a
# delete of the prefix (one revision, several events).
events, cancel = c.watch_prefix(key('w/'))
puts = 30


def writer():
    threads = [threading.Thread(target=c.put, args=(key('w/%02d' % i), 'v%d' % i)) for i in range(puts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c.delete_prefix(key('w/'))


threading.Timer(0.5, writer).start()
seen = []
for event in events:
    seen.append((event.get('type', 'PUT'), event['kv']['key']))
    if len(seen) == 2 * puts:
        break
cancel()
names = sorted(key('w/%02d' % i).encode() for i in range(puts))
check('watched puts', sorted(k for t, k in seen if t == 'PUT'), names)
check('watched deletes, in key order', [k for t, k in seen if t == 'DELETE'], names)

threading.Timer(0.5, lambda: c.put(key('once'), 'x')).start()
check('watch_once', c.watch_once(key('once'), timeout=10)['kv']['value'], b'x')
try:
    c.watch_once(key('never'), timeout=1)
    check('watch_once with nothing to see times out', False, True)
except WatchTimedOut:
    check('watch_once with nothing to see times out', True, True)

check('transaction of several puts', c.transaction({'success': [
    {'request_put': {'key': _encode(key('t/%d' % i)), 'value': _encode('v')}} for i in range(3)]})['succeeded'], True)
check('delete_prefix', c.delete_prefix(key('')), True)
check('nothing left', c.get_prefix(key('')), [])
watchdog.cancel()
print('OK')
