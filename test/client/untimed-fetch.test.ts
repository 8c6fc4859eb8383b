/**
 * The dispatcher the member, gateway and CLI give Node's fetch at start: with no quiet limit, an
 * answer that goes quiet (a watch with no event, a lock waiting) is read on when it speaks again;
 * with one, undici cuts it off (its default is 300 s; its timers count whole seconds, hence a
 * limit of 1 s here).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getGlobalDispatcher, setGlobalDispatcher, type Dispatcher } from 'undici'
import { fetchDispatcher, useUntimedFetch } from '../../src/client/untimed-fetch.ts'

/**
 * Whether, through `dispatcher` (null: the global one), an answer quiet for `quietMs` after its
 * first line still gives its second.
 */
async function survivesQuiet(dispatcher: Dispatcher | null, quietMs: number): Promise<boolean> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.write('first\n')
    setTimeout(() => res.end('second\n'), quietMs)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
    const res = await fetch(url, dispatcher === null ? {} : ({ dispatcher } as RequestInit))
    return (await res.text()) === 'first\nsecond\n'
  } catch {
    return false
  } finally {
    server.closeAllConnections()
    server.close()
  }
}

test('a quiet limit cuts a quiet answer off; without one it is read to its end', async () => {
  assert.equal(await survivesQuiet(fetchDispatcher(1000), 2500), false, 'a quiet limit of 1 s let 2.5 s of quiet pass')
  assert.equal(await survivesQuiet(fetchDispatcher(), 2500), true)
})

test("useUntimedFetch makes the global fetch's dispatcher untimed", async () => {
  const before = getGlobalDispatcher()
  try {
    setGlobalDispatcher(fetchDispatcher(1000))
    assert.equal(await survivesQuiet(null, 2500), false, 'the global dispatcher is not what fetch uses')
    useUntimedFetch()
    assert.equal(await survivesQuiet(null, 2500), true)
  } finally {
    setGlobalDispatcher(before)
  }
})
