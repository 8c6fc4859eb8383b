/**
 * Measurement-only preload: `node --import ./bench/mem-probe.mjs …` with EDGECD_MEM_PROBE=<file>.
 * Captures the WebAssembly memory of every instance created (sql.js's heap) and, every 250 ms,
 * writes this process's memory breakdown as JSON to <file>: process.memoryUsage(), the WASM
 * memories' byteLength (now and peak) and resident part, V8 heap spaces, and /proc/self/smaps_rollup.
 * Plain JS (no tsx) so it measures the same thing whichever way the member is run.
 */
import { readFileSync, writeFileSync, renameSync } from 'node:fs'
import { getHeapSpaceStatistics } from 'node:v8'

const out = process.env.EDGECD_MEM_PROBE
if (out) {
  const memories = []
  const remember = (result) => {
    const instance = result instanceof WebAssembly.Instance ? result : result?.instance
    const mem = instance?.exports && Object.values(instance.exports).find((v) => v instanceof WebAssembly.Memory)
    if (mem) memories.push(mem)
    return result
  }
  const instantiate = WebAssembly.instantiate
  WebAssembly.instantiate = (...args) => instantiate.apply(WebAssembly, args).then(remember)
  const streaming = WebAssembly.instantiateStreaming
  if (streaming) WebAssembly.instantiateStreaming = (...args) => streaming.apply(WebAssembly, args).then(remember)
  let peakWasm = 0
  let peakRss = 0
  const sample = () => {
    const wasm = memories.reduce((s, m) => s + m.buffer.byteLength, 0)
    const mu = process.memoryUsage()
    peakWasm = Math.max(peakWasm, wasm)
    peakRss = Math.max(peakRss, mu.rss)
    let smaps = {}
    try {
      for (const line of readFileSync('/proc/self/smaps_rollup', 'utf8').split('\n')) {
        const m = /^(\w+):\s+(\d+) kB/.exec(line)
        if (m) smaps[m[1]] = Number(m[2]) * 1024
      }
    } catch {
      smaps = {}
    }
    // V8 reserves 8 GiB of address space per wasm memory: the committed part is an rw-p mapping
    // right before a ---p guard reservation of 4+ GiB (V8's own heap cage is 4 GiB in all). Its Rss is the WASM heap actually touched.
    let wasmResident = 0
    try {
      const vmas = []
      for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
        const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+)/.exec(line)
        if (head !== null) vmas.push({ start: BigInt(`0x${head[1]}`), end: BigInt(`0x${head[2]}`), perms: head[3], rss: 0 })
        const rss = /^Rss:\s+(\d+) kB/.exec(line)
        if (rss !== null && vmas.length > 0) vmas[vmas.length - 1].rss = Number(rss[1]) * 1024
      }
      for (let i = 0; i + 1 < vmas.length; i++) {
        const [a, b] = [vmas[i], vmas[i + 1]]
        if (a.perms === 'rw-p' && b.perms === '---p' && b.start === a.end && b.end - b.start >= 4n * 2n ** 30n) wasmResident += a.rss
      }
    } catch {
      wasmResident = -1
    }
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, [s.space_used_size, s.space_size, s.physical_space_size]]))
    const body = JSON.stringify({ at: Date.now(), ...mu, wasm, peakWasm, wasmResident, peakRss, smaps, spaces })
    writeFileSync(`${out}.tmp`, body)
    renameSync(`${out}.tmp`, out)
  }
  setInterval(sample, 250).unref()
}
