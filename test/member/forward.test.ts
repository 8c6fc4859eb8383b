/**
 * forwardToLeader while leadership moves: it waits for a leader it can reach (none known, or the
 * known one's connection refused), sends a streamed body whole again, and never resends a request
 * that may have reached the leader.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { MemberActor } from '../../src/member/actor.ts'
import { forwardBase, forwardToLeader } from '../../src/member/forward.ts'

interface FakeActor {
  leader: number
  term: number
}

function fakeActor(requestTimeoutMs = 2000): { state: FakeActor; actor: MemberActor } {
  const state: FakeActor = { leader: 0, term: 1 }
  const actor = {
    get leader() {
      return state.leader
    },
    get term() {
      return state.term
    },
    // Forwards go to the peer URL: a member's client URLs may be another port, or a proxy's.
    member: (id: number) => ({ id, clientUrls: [`http://client-${id}`], peerUrls: [`http://member-${id}`] }),
    config: { id: 9, tickMs: 5, requestTimeoutMs },
  }
  return { state, actor: actor as unknown as MemberActor }
}

/** fetch's error for a connection refused (the request was never sent). */
function refused(): Error {
  return new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) })
}

const answer = (): Response => new Response('{"header":{"member_id":"1"},"TTL":"9"}', { status: 200 })

test('with no leader known, a forward waits for one and then goes to it', async () => {
  const { state, actor } = fakeActor()
  const tried: string[] = []
  setTimeout(() => (state.leader = 2), 50)
  const started = performance.now()
  const res = await forwardToLeader(actor, new Request('http://me/v3/lease/timetolive', { method: 'POST', body: '{"ID":"7"}' }), '{"ID":"7"}', async (url) => {
    tried.push(String(url))
    return answer()
  })
  assert.equal(res.status, 200)
  assert.deepEqual(tried, ['http://member-2/v3/lease/timetolive'])
  assert.ok(performance.now() - started >= 45)
})

test('a leader whose connection is refused is given up for the next one; the streamed body goes again whole', async () => {
  const { state, actor } = fakeActor()
  state.leader = 2
  const bodies: Array<[string, string]> = []
  const fetcher = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const text = await new Response(init?.body ?? null).text()
    bodies.push([String(url), text])
    if (String(url).startsWith('http://member-2')) {
      // The dead leader's followers elect another one meanwhile.
      setTimeout(() => {
        state.leader = 3
        state.term = 2
      }, 20)
      throw refused()
    }
    return answer()
  }
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode('{"ID":"7"}'))
      c.enqueue(new TextEncoder().encode('{"ID":"8"}'))
      c.close()
    },
  })
  const res = await forwardToLeader(actor, new Request('http://me/v3/lease/keepalive', { method: 'POST' }), body, fetcher)
  assert.equal(res.status, 200)
  assert.deepEqual(bodies, [
    ['http://member-2/v3/lease/keepalive', '{"ID":"7"}{"ID":"8"}'],
    ['http://member-3/v3/lease/keepalive', '{"ID":"7"}{"ID":"8"}'],
  ])
})

test('a request that may have reached the leader is not sent again: no leader at once', async () => {
  const { state, actor } = fakeActor()
  state.leader = 2
  let calls = 0
  const res = await forwardToLeader(actor, new Request('http://me/v3/lease/timetolive', { method: 'POST' }), '{}', async () => {
    calls++
    throw new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) })
  })
  assert.equal(calls, 1)
  assert.deepEqual([res.status, (await res.json()).message], [503, 'etcdserver: no leader'])
})

test('no leader within the request timeout, or a request forwarded already: no leader', async () => {
  const { actor } = fakeActor(100)
  const started = performance.now()
  const none = await forwardToLeader(actor, new Request('http://me/v3/lease/timetolive', { method: 'POST' }), '{}', async () => answer())
  assert.equal(none.status, 503)
  assert.ok(performance.now() - started >= 95)
  const again = fakeActor()
  again.state.leader = 2
  const forwarded = new Request('http://me/v3/lease/timetolive', { method: 'POST', headers: { 'x-edgecd-forwarded': '1' } })
  assert.equal((await forwardToLeader(again.actor, forwarded, '{}', async () => answer())).status, 503)
})

test("a streamed answer cut off with the leader ends with a stream-error line (no leader), not silently", async () => {
  const { state, actor } = fakeActor()
  state.leader = 2
  const line = '{"result":{"header":{"member_id":"2"},"ID":"7","TTL":"9"}}\n'
  const res = await forwardToLeader(actor, new Request('http://me/v3/lease/keepalive', { method: 'POST' }), '{"ID":"7"}', async () => {
    let sent = false
    const broken = new ReadableStream<Uint8Array>({
      pull(c) {
        if (!sent) {
          sent = true
          c.enqueue(new TextEncoder().encode(line))
        } else c.error(new TypeError('terminated'))
      },
    })
    return new Response(broken, { status: 200 })
  })
  const lines = (await res.text()).trim().split('\n')
  assert.equal(lines.length, 2)
  assert.match(lines[0] as string, /"TTL":"9"/)
  assert.deepEqual(JSON.parse(lines[1] as string), {
    error: { grpc_code: 14, http_code: 503, message: 'etcdserver: no leader', http_status: 'Service Unavailable' },
  })
})

test("a forward goes to the leader's peer URL, but not over plain HTTP when it serves clients over https", () => {
  assert.equal(forwardBase({ peerUrls: ['http://10.0.0.1:2380'], clientUrls: ['http://10.0.0.1:2379'] }), 'http://10.0.0.1:2380')
  assert.equal(forwardBase({ peerUrls: ['https://10.0.0.1:2380'], clientUrls: ['https://10.0.0.1:2379'] }), 'https://10.0.0.1:2380')
  assert.equal(forwardBase({ peerUrls: ['http://10.0.0.1:2380'], clientUrls: ['http://127.0.0.1:2379', 'https://10.0.0.1:2379'] }), 'https://10.0.0.1:2379')
  assert.equal(forwardBase({ peerUrls: ['http://10.0.0.1:2380'], clientUrls: [] }), 'http://10.0.0.1:2380', 'before it published its client URLs')
  assert.equal(forwardBase({ peerUrls: [], clientUrls: [] }), undefined)
})
