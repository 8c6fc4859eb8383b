/**
 * A binary min-heap of (time, lease ID) deadlines with lazy deletion: entries are never removed
 * early; the owner checks, when one surfaces, whether it still matches its current deadline.
 * Ties pop in ID order, so the order never depends on insertion history.
 *
 * @module
 */

export interface Deadline {
  readonly at: number
  readonly id: bigint
}

function before(a: Deadline, b: Deadline): boolean {
  return a.at < b.at || (a.at === b.at && a.id < b.id)
}

function swap(a: Deadline[], i: number, j: number): void {
  const t = a[i] as Deadline
  a[i] = a[j] as Deadline
  a[j] = t
}

export class DeadlineHeap {
  #items: Deadline[] = []

  clear(): void {
    this.#items = []
  }

  push(item: Deadline): void {
    const a = this.#items
    a.push(item)
    let i = a.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(a[i] as Deadline, a[parent] as Deadline)) break
      swap(a, i, parent)
      i = parent
    }
  }

  peek(): Deadline | undefined {
    return this.#items[0]
  }

  pop(): Deadline | undefined {
    const a = this.#items
    const top = a[0]
    const last = a.pop()
    if (a.length > 0 && last !== undefined) {
      a[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && before(a[l] as Deadline, a[m] as Deadline)) m = l
        if (r < a.length && before(a[r] as Deadline, a[m] as Deadline)) m = r
        if (m === i) break
        swap(a, i, m)
        i = m
      }
    }
    return top
  }
}
