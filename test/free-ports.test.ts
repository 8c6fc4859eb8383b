import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { FETCH_BLOCKED, freeConsecutivePorts, freePort, mayHandOut, reserve, RESERVATIONS } from './free-ports.ts'

const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])

test('free ports lie below the ephemeral range, are never handed out twice, and can be bound', async () => {
  const seen = new Set<number>()
  for (let i = 0; i < 200; i++) {
    const port = await freePort()
    assert.ok(port >= 10_000 && port < ephemeralLow, `${port} outside [10000, ${ephemeralLow})`)
    assert.ok(!seen.has(port), `${port} handed out twice`)
    seen.add(port)
  }
  const base = await freeConsecutivePorts(4)
  for (let p = base; p < base + 4; p++) assert.ok(!seen.has(p), `${p} handed out twice`)
  const server = createServer()
  await new Promise<void>((res, rej) => {
    server.once('error', rej)
    server.listen(base + 3, '127.0.0.1', () => res())
  })
  server.close()
})

test('ports that fetch refuses, and ports handed out before, are never handed out', async () => {
  for (const port of FETCH_BLOCKED) {
    assert.equal(mayHandOut(port), false, `${port} may be handed out`)
    const refused = await fetch(`http://127.0.0.1:${port}/`).then(
      () => 'connected',
      (e: Error) => String((e.cause as Error | undefined)?.message),
    )
    assert.equal(refused, 'bad port', `fetch to ${port}`)
  }
  assert.equal(mayHandOut(await freePort()), false, 'a port handed out may be handed out again')
})

test('a port another live process reserved is not taken; one a dead process reserved is', () => {
  mkdirSync(RESERVATIONS, { recursive: true })
  // Ports no test hands out (below LOW), so no run of the suite holds them.
  const [held, left] = [9_001, 9_002]
  writeFileSync(join(RESERVATIONS, String(held)), String(process.ppid))
  try {
    assert.equal(reserve(held), false, 'reserved by the live parent process')
  } finally {
    unlinkSync(join(RESERVATIONS, String(held)))
  }
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout
  writeFileSync(join(RESERVATIONS, String(left)), dead)
  assert.equal(reserve(left), true, 'left by a process that is gone')
  assert.equal(readFileSync(join(RESERVATIONS, String(left)), 'utf8'), String(process.pid))
  assert.equal(reserve(left), false, 'now held by this process')
})
