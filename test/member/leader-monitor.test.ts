/**
 * member/leader-monitor.ts: streams that require a leader end after NO_LEADER_CHECKS leaderless
 * checks in a row (a check that finds a leader starts the count again), with the error line put
 * between two lines, never inside one; a stream that ends or is cancelled is forgotten.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { NO_LEADER_CHECKS } from '../../src/api/index.ts'
import { LeaderMonitor, leaderBound } from '../../src/member/leader-monitor.ts'

const INTERVAL_MS = 10
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const NO_LEADER_LINE =
  '{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}'

/** A stream answer whose chunks the test writes. */
function source(): { response: Response; write: (text: string) => Promise<void>; cancelled: Promise<void> } {
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined
  let onCancel: () => void = () => undefined
  const cancelled = new Promise<void>((resolve) => (onCancel = resolve))
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c), cancel: () => onCancel() })
  const write = async (text: string): Promise<void> => controller?.enqueue(new TextEncoder().encode(text))
  return { response: new Response(body, { status: 200, headers: { 'content-type': 'application/json' } }), write, cancelled }
}

describe('leader monitor', () => {
  test(`a stream ends after ${NO_LEADER_CHECKS} leaderless checks in a row; a leader seen in between starts the count again`, async () => {
    let leader = false
    let checks = 0
    const monitor = new LeaderMonitor(() => (checks++, leader), INTERVAL_MS)
    let ended = 0
    monitor.register(() => ended++)
    while (checks < NO_LEADER_CHECKS - 1) await sleep(2)
    leader = true
    const seen = checks
    while (checks < seen + 1) await sleep(2)
    leader = false
    assert.equal(ended, 0, 'not ended while the count was started again')
    while (ended === 0) await sleep(2)
    assert.ok(checks >= seen + 1 + NO_LEADER_CHECKS, `ended after ${checks} checks`)
    assert.equal(monitor.size, 0, 'ended streams are forgotten, and the timer stops')
    const before = checks
    await sleep(5 * INTERVAL_MS)
    assert.equal(checks, before, 'no checks while no stream is watched')
  })

  test('a stream that ends by itself is forgotten; one with a leader is left alone until cancelled', async () => {
    const monitor = new LeaderMonitor(() => true, INTERVAL_MS)
    const s = source()
    const bound = leaderBound(s.response, monitor)
    assert.equal(bound.status, 200)
    assert.equal(bound.headers.get('content-type'), 'application/json')
    const reader = bound.body!.getReader()
    await s.write('{"a":1}\n')
    assert.equal(new TextDecoder().decode((await reader.read()).value), '{"a":1}\n')
    await sleep((NO_LEADER_CHECKS + 2) * INTERVAL_MS)
    await s.write('{"b":2}\n')
    assert.equal(new TextDecoder().decode((await reader.read()).value), '{"b":2}\n', 'no error line while a leader is known')
    const ended = leaderBound(new Response('{"c":3}\n', { status: 200 }), monitor)
    assert.equal(await ended.text(), '{"c":3}\n')
    assert.equal(monitor.size, 1, 'the ended one is forgotten, the open one is not')
    await reader.cancel()
    assert.equal(monitor.size, 0, 'a cancelled stream is forgotten')
    await s.cancelled
  })

  test('the error line goes out at the next line end, after a line cut across chunks, and cancels the source', async () => {
    const monitor = new LeaderMonitor(() => false, INTERVAL_MS)
    const s = source()
    const bound = leaderBound(s.response, monitor)
    const reader = bound.body!.getReader()
    const decoder = new TextDecoder()
    let got = ''
    await s.write('{"first":1}\n{"sec')
    got += decoder.decode((await reader.read()).value)
    await sleep((NO_LEADER_CHECKS + 2) * INTERVAL_MS)
    assert.equal(monitor.size, 0, 'the monitor ended it')
    await s.write('ond":2}\n')
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      got += decoder.decode(value)
    }
    assert.equal(got, `{"first":1}\n{"second":2}\n${NO_LEADER_LINE}`)
    await s.cancelled
  })

  test('an answer that is not a 200 stream is left as it is', async () => {
    const monitor = new LeaderMonitor(() => false, INTERVAL_MS)
    const refused = new Response('no', { status: 503 })
    assert.equal(leaderBound(refused, monitor), refused)
    assert.equal(monitor.size, 0)
  })
})
