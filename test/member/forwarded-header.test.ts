/**
 * answeredBy (src/member/forwarded-header.ts): a forwarded answer's header member ID becomes the
 * forwarding member's, in a unary answer and in every stream line, whatever the chunking; each
 * whole line goes on as soon as it has arrived; other IDs (member lists, a status's leader) stay.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { answeredBy } from '../../src/member/forwarded-header.ts'

const LEADER = 6243359543990292
const SELF = 585972922562453

/** Writes `chunks` through the transform; what came out after each chunk, and after the end. */
async function run(chunks: readonly string[]): Promise<string[]> {
  const t = answeredBy(LEADER, SELF)
  const writer = t.writable.getWriter()
  const reader = t.readable.getReader()
  const decoder = new TextDecoder()
  const seen: string[] = []
  // One read outstanding at a time, kept across drains (a read that lost the race still gets the next chunk).
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null
  const drain = async (): Promise<string> => {
    let out = ''
    // Whatever the transform enqueued for the chunk is readable at once.
    for (;;) {
      pending ??= reader.read()
      const next = await Promise.race([pending, new Promise<null>((r) => setTimeout(() => r(null), 20))])
      if (next === null) return out
      pending = null
      if (next.done) return out
      out += decoder.decode(next.value)
    }
  }
  for (const c of chunks) {
    void writer.write(new TextEncoder().encode(c))
    seen.push(await drain())
  }
  void writer.close()
  seen.push(await drain())
  return seen
}

test('a unary answer: the header names this member, other IDs stay', async () => {
  const body = `{"header":{"cluster_id":"1","member_id":"${LEADER}","revision":"5","raft_term":"2"},"members":[{"ID":"${LEADER}"}]}`
  const out = (await run([body.slice(0, 30), body.slice(30)])).join('')
  assert.equal(out, body.replace(`"member_id":"${LEADER}"`, `"member_id":"${SELF}"`))
})

test('stream lines: each rewritten and passed on once whole, even split inside the ID', async () => {
  const line = (ttl: number): string => `{"result":{"header":{"member_id":"${LEADER}"},"ID":"7","TTL":"${ttl}"}}\n`
  const mine = (ttl: number): string => line(ttl).replace(String(LEADER), String(SELF))
  const first = line(10)
  const cut = first.indexOf(String(LEADER)) + 4
  const seen = await run([first.slice(0, cut), first.slice(cut), line(9) + line(8).slice(0, 5), line(8).slice(5)])
  assert.deepEqual(seen, ['', mine(10), mine(9), mine(8), ''])
})

test('an answer without the leader ID goes on unchanged', async () => {
  const body = '{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}'
  assert.equal((await run([body])).join(''), body)
})
