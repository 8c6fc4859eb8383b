/**
 * Key-range helpers shared by the client and the CLI: etcd's prefix → range_end rule and the
 * "every key ≥ key" range end.
 *
 * @module
 */

/**
 * The range_end selecting every key that starts with `prefix`: the prefix with trailing 0xff
 * bytes dropped and its last byte incremented (`r/` → `r0`). When nothing is left (empty or
 * all-0xff prefix), `[0]`: every key ≥ the prefix.
 */
export function prefixRangeEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const b = prefix[i] as number
    if (b < 0xff) {
      const end = prefix.slice(0, i + 1)
      end[i] = b + 1
      return end
    }
  }
  return fromKeyRangeEnd()
}

/** `"\0"`: with any key, the range of every key ≥ key; with key `"\0"`, the whole keyspace. */
export function fromKeyRangeEnd(): Uint8Array {
  return new Uint8Array([0])
}
