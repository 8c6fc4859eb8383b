/**
 * Number and ID formatting for the page. Every number is drawn with tabular figures (CSS), so
 * these only choose units and widths.
 *
 * @module
 */

/** 1536 → "1.5 KiB". */
export function formatBytes(value: string | number | undefined): string {
  const n = Number(value ?? 0)
  if (!Number.isFinite(n)) return '–'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return `${u === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`
}

/** A decimal int64/uint64 ID (as etcd's JSON gives it) in lowercase hex, as etcdctl prints IDs. */
export function hexId(id: string | undefined): string {
  if (id === undefined || id === '' || !/^-?\d+$/.test(id)) return id ?? ''
  let n = BigInt(id)
  if (n < 0n) n += 1n << 64n
  return n.toString(16)
}

/** "1234567" → "1,234,567". */
export function formatCount(value: string | number | undefined): string {
  if (value === undefined || value === '') return '–'
  const text = String(value)
  return /^\d+$/.test(text) ? text.replace(/\B(?=(\d{3})+(?!\d))/g, ',') : text
}

/** A rate or latency with a sensible number of digits; null → "–". */
export function formatRate(value: number | null, digits = 1): string {
  if (value === null || !Number.isFinite(value)) return '–'
  if (value >= 1000) return Math.round(value).toLocaleString('en-US')
  if (value >= 100) return value.toFixed(0)
  return value.toFixed(digits)
}

/** Seconds → "1h 02m", "3m 07s", "42s". */
export function formatSeconds(total: number): string {
  if (!Number.isFinite(total)) return '–'
  const s = Math.max(0, Math.floor(total))
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
  if (s >= 60) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`
  return `${s}s`
}

/** Wall-clock time "14:03:07". */
export function formatClock(ms: number): string {
  const d = new Date(ms)
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':')
}

/** Cuts a display string to `max` characters with an ellipsis. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}
