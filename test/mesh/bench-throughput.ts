/**
 * Micro-benchmark: messages/s over one loopback link (both members in this process), each
 * message a MsgApp of 10 entries × 300 bytes. A window bounds the messages in flight so the
 * bounded queue never drops; `perTurn` messages are sent per event loop turn (one frame).
 *
 *   node --import tsx test/mesh/bench-throughput.ts [seconds]
 *
 * @module
 */
import { appendMessage } from './arbitraries.ts'
import { WsHarness } from './ws-harness.ts'

const seconds = Number(process.argv[2] ?? 3)
const WINDOW = 2048

async function run(perTurn: number): Promise<void> {
  const h = new WsHarness()
  const a = await h.start(1, [2])
  const b = await h.start(2, [1])
  let received = 0
  b.onReceive((messages) => (received += messages.length))
  const msg = appendMessage(1, 2, 100, 10, 300)
  let sent = 0
  let dropped = 0
  a.onUnreachable(() => dropped++)
  const start = performance.now()
  const end = start + seconds * 1000
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      if (performance.now() >= end) return resolve()
      for (let i = 0; i < perTurn && sent - received < WINDOW; i++, sent++) a.send([msg])
      setImmediate(pump)
    }
    pump()
  })
  const elapsed = (performance.now() - start) / 1000
  const stats = a.stats().peers.get(2)
  const frames = stats?.framesSent ?? 0
  const mb = (stats?.bytesSent ?? 0) / 1e6
  console.log(
    `perTurn=${String(perTurn).padStart(3)}  ${Math.round(received / elapsed)} msg/s  ` +
      `${Math.round(frames / elapsed)} frames/s  ${(mb / elapsed).toFixed(1)} MB/s  ` +
      `avg ${(received / Math.max(frames, 1)).toFixed(1)} msg/frame  dropped=${stats?.messagesDropped ?? 0}`,
  )
  await h.close()
}

for (const perTurn of [1, 8, 64, 256]) await run(perTurn)
