/**
 * The load generator: wrk with one Lua script per load, all speaking etcd's v3 JSON API (POST
 * bodies, base64 keys and values). Distinct keys come from a per-thread counter written straight
 * in base64 digits after a base64 prefix, so no base64 encoding happens in Lua:
 *
 *   key = b64(prefix, 6 bytes) .. 2 digits of the thread number .. 6 digits of the counter
 *
 * (12 bytes, all different within a run and across runs with different prefixes). The script's
 * done() prints one `WRKJSON {...}` line with the counts and latency percentiles (µs).
 *
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runGenerator, type LoadRun } from './generator.ts'

/** The loads wrk drives (the watch load is driven separately). */
export const LOAD_NAMES = ['put', 'get-linearizable', 'get-serializable', 'get-prefix', 'txn-create'] as const
export type LoadName = (typeof LOAD_NAMES)[number]

export const VALUE_BYTES = 256
/** The 256-byte value every put writes ('v' × 256), base64. */
export const VALUE_B64 = Buffer.alloc(VALUE_BYTES, 'v').toString('base64')

/** The 6-byte key prefix of run `tag` (e.g. `p00017`), base64 (8 characters). */
export function prefixB64(tag: string): string {
  const bytes = Buffer.from(tag.padEnd(6, '_').slice(0, 6))
  return bytes.toString('base64')
}

/** The key the get loads read. */
export const GET_KEY_B64 = Buffer.from('bench/get-key').toString('base64')

/**
 * The keys the get-prefix load reads all at once, as a client discovering the instances of a
 * service does (`etcdctl get --prefix`): five keys under one prefix, read linearizably.
 */
export const PREFIX_KEYS = [0, 1, 2, 3, 4].map((i) => Buffer.from(`bench/service/instance-${i}`).toString('base64'))
const PREFIX_B64 = Buffer.from('bench/service/').toString('base64')
const PREFIX_END_B64 = Buffer.from('bench/service0').toString('base64')

const LUA_COMMON = `
local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local function digits(n, w)
  local s = {}
  for i = w, 1, -1 do
    local d = n % 64
    s[i] = B64:sub(d + 1, d + 1)
    n = math.floor(n / 64)
  end
  return table.concat(s)
end
counter = 0
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
`

/** The Lua script of one load; `prefix` is the run's key prefix (base64, from prefixB64). */
export function luaScript(load: LoadName, prefix: string): string {
  const V = VALUE_B64
  switch (load) {
    case 'put':
      return `${LUA_COMMON}
wrk.path = "/v3/kv/put"
function request()
  counter = counter + 1
  local k = "${prefix}" .. digits(tid, 2) .. digits(counter, 6)
  return wrk.format(nil, nil, nil, '{"key":"' .. k .. '","value":"${V}"}')
end
`
    case 'txn-create':
      return `${LUA_COMMON}
wrk.path = "/v3/kv/txn"
function request()
  counter = counter + 1
  local k = "${prefix}" .. digits(tid, 2) .. digits(counter, 6)
  return wrk.format(nil, nil, nil, '{"compare":[{"key":"' .. k .. '","result":"EQUAL","target":"CREATE",' ..
    '"create_revision":"0"}],"success":[{"request_put":{"key":"' .. k .. '","value":"${V}"}}],' ..
    '"failure":[{"request_range":{"key":"' .. k .. '"}}]}')
end
`
    case 'get-linearizable':
      return `${LUA_COMMON}
wrk.path = "/v3/kv/range"
wrk.body = '{"key":"${GET_KEY_B64}"}'
`
    case 'get-serializable':
      return `${LUA_COMMON}
wrk.path = "/v3/kv/range"
wrk.body = '{"key":"${GET_KEY_B64}","serializable":true}'
`
    case 'get-prefix':
      return `${LUA_COMMON}
wrk.path = "/v3/kv/range"
wrk.body = '{"key":"${PREFIX_B64}","range_end":"${PREFIX_END_B64}"}'
`
  }
}

/** Starts wrk (threads = min(2, connections)) running `load` against `baseUrl` for `durationS`. */
export function startWrk(baseUrl: string, load: LoadName, prefix: string, connections: number, durationS: number): LoadRun {
  const dir = mkdtempSync(join(tmpdir(), 'bench-wrk-'))
  const script = join(dir, `${load}.lua`)
  writeFileSync(script, luaScript(load, prefix))
  const threads = Math.min(2, connections)
  const args = ['-t', String(threads), '-c', String(connections), '-d', `${durationS}s`, '--timeout', '5s', '-s', script, baseUrl]
  return runGenerator('wrk', args, (out, code) => {
    rmSync(dir, { recursive: true, force: true })
    const line = out.split('\n').find((l) => l.startsWith('WRKJSON '))
    if (line === undefined) throw new Error(`wrk exited ${code} without results:\n${out}`)
    const j = JSON.parse(line.slice(8)) as Record<string, number>
    const n = (k: string): number => j[k] ?? 0
    const durationS = n('duration_us') / 1e6
    return {
      requests: n('requests'),
      durationS,
      rps: n('requests') / durationS,
      p50Ms: n('p50') / 1000,
      p90Ms: n('p90') / 1000,
      p99Ms: n('p99') / 1000,
      maxMs: n('max') / 1000,
      non2xx: n('status'),
      socketErrors: n('connect') + n('read') + n('write') + n('timeout'),
    }
  })
}
