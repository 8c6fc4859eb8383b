/**
 * The small text formats etcdctl's output is made of, reproduced from the Go libraries it prints
 * with: IDs in hex (`%016x` for leases, `%x` for members), go-humanize's byte sizes (`20 kB`),
 * Go's duration strings (`1.234ms`), Go's `%q` quoting, `--hex` escapes (`\x66\x6f\x6f`), and
 * tablewriter's tables (header centered, cells right-aligned).
 *
 * @module
 */

/** `%016x` of an int64 (a lease ID): zero-padded lowercase hex; negative IDs keep their sign. */
export function leaseHex(id: bigint): string {
  return id < 0n ? '-' + (-id).toString(16).padStart(15, '0') : id.toString(16).padStart(16, '0')
}

/** `%x` of a uint64 (a member ID). */
export function idHex(id: bigint): string {
  return id.toString(16)
}

/** `%16x`: hex padded with spaces to 16 columns (etcdctl's member add/remove messages). */
export function idHex16(id: bigint): string {
  return idHex(id).padStart(16, ' ')
}

/** Go's `%.Nf` (rounds half to even where the value is exactly halfway). */
function goFixed(value: number, digits: number): string {
  const scaled = value * 10 ** digits
  const floor = Math.floor(scaled)
  const diff = scaled - floor
  const n = diff > 0.5 || (diff === 0.5 && floor % 2 === 1) ? floor + 1 : floor
  return (n / 10 ** digits).toFixed(digits)
}

const SIZES = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB']

/** go-humanize's `Bytes`: SI units, one decimal below 10 (`20 kB`, `1.5 MB`, `9 B`). */
export function humanizeBytes(bytes: number): string {
  if (bytes < 10) return `${bytes} B`
  const e = Math.floor(Math.log(bytes) / Math.log(1000))
  const value = Math.floor((bytes / 1000 ** e) * 10 + 0.5) / 10
  return `${goFixed(value, value < 10 ? 1 : 0)} ${SIZES[e]}`
}

/** `whole.fraction` of `v / scale`, trailing zeros (and a bare dot) dropped. */
function decimal(v: bigint, scale: bigint): string {
  const digits = scale.toString().length - 1
  const frac = (v % scale).toString().padStart(digits, '0').replace(/0+$/, '')
  return (v / scale).toString() + (frac === '' ? '' : '.' + frac)
}

/** Go's `time.Duration.String()` of `ns` nanoseconds (`850µs`, `1.5ms`, `2m3.5s`). */
export function goDuration(ns: bigint): string {
  if (ns === 0n) return '0s'
  const sign = ns < 0n ? '-' : ''
  const u = ns < 0n ? -ns : ns
  if (u < 1000n) return `${sign}${u}ns`
  if (u < 1_000_000n) return `${sign}${decimal(u, 1000n)}µs`
  if (u < 1_000_000_000n) return `${sign}${decimal(u, 1_000_000n)}ms`
  const hours = u / 3_600_000_000_000n
  const minutes = (u / 60_000_000_000n) % 60n
  let out = decimal(u % 60_000_000_000n, 1_000_000_000n) + 's'
  if (hours > 0n || minutes > 0n) out = `${minutes}m${out}`
  if (hours > 0n) out = `${hours}h${out}`
  return sign + out
}

const NAMED_ESCAPES: Readonly<Record<number, string>> = {
  0x07: '\\a', 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x0b: '\\v', 0x22: '\\"', 0x5c: '\\\\',
}

/** Go's `%q` (strconv.Quote) of bytes: printable UTF-8 kept, the rest escaped. */
export function goQuote(bytes: Uint8Array): string {
  let out = '"'
  const decoder = new TextDecoder('utf-8', { fatal: true })
  let i = 0
  while (i < bytes.length) {
    const b = bytes[i] as number
    if (b < 0x80) {
      const named = NAMED_ESCAPES[b]
      if (named !== undefined) out += named
      else if (b < 0x20 || b === 0x7f) out += '\\x' + b.toString(16).padStart(2, '0')
      else out += String.fromCharCode(b)
      i++
      continue
    }
    const len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1
    let ch: string | null = null
    try {
      ch = len === 1 ? null : decoder.decode(bytes.subarray(i, i + len))
    } catch {
      ch = null
    }
    if (ch === null || /\p{C}/u.test(ch)) {
      out += '\\x' + b.toString(16).padStart(2, '0')
      i++
    } else {
      out += ch
      i += len
    }
  }
  return out + '"'
}

/** etcdctl's `--hex` form of bytes: `\x` before every byte's two hex digits. */
export function hexEscape(bytes: Uint8Array): string {
  let out = ''
  for (const b of bytes) out += '\\x' + b.toString(16).padStart(2, '0')
  return out
}

/** tablewriter's centering: the odd space goes to the right. */
function center(text: string, width: number): string {
  const gap = width - text.length
  const left = Math.floor(gap / 2)
  return ' '.repeat(left) + text + ' '.repeat(gap - left)
}

/**
 * A table as etcdctl's tablewriter draws it: `+---+` borders, the header upper-cased and
 * centered, every cell right-aligned.
 */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const titles = header.map((h) => h.toUpperCase())
  const widths = titles.map((t, i) => Math.max(t.length, ...rows.map((r) => (r[i] ?? '').length)))
  const border = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+'
  const line = (cells: readonly string[], align: (text: string, width: number) => string): string =>
    '|' + widths.map((w, i) => ' ' + align(cells[i] ?? '', w) + ' ').join('|') + '|'
  return [
    border,
    line(titles, center),
    border,
    ...rows.map((r) => line(r, (text, width) => text.padStart(width, ' '))),
    border,
  ]
}
