/**
 * Stable, human-readable text for entries, messages and Readys: the format of the golden
 * interaction tests and of the simulator's trace. Changing it means regenerating golden files,
 * so keep it stable. Byte strings print quoted when they are plain ASCII, else as hex.
 *
 * Examples:
 *   1->2 MsgApp Term:1 Log:1/2 Commit:2 Entries:[1/3 EntryNormal "x"]
 *   2->1 MsgAppResp Term:1 Log:1/5 Rejected (Hint: 3)
 *
 * @module
 */
import { decodeConfChange } from './conf-change-codec.ts'
import type { ConfState, Entry, HardState, Message, Ready, ReadState, Snapshot, SoftState } from './types.ts'

export function describeBytes(b: Uint8Array): string {
  let ascii = true
  for (const c of b) if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) ascii = false
  if (ascii) return `"${String.fromCharCode(...b)}"`
  return `0x${[...b].map((c) => c.toString(16).padStart(2, '0')).join('')}`
}

export function describeEntry(e: Entry): string {
  if (e.type === 'normal') return `${e.term}/${e.index} EntryNormal ${describeBytes(e.data)}`
  let body: string
  try {
    const cc = decodeConfChange(e.data)
    body = `${cc.type} ${cc.nodeId}${cc.context.length > 0 ? ` ${describeBytes(cc.context)}` : ''}`
  } catch {
    body = `<undecodable ${describeBytes(e.data)}>`
  }
  return `${e.term}/${e.index} EntryConfChange ${body}`
}

export function describeConfState(cs: ConfState): string {
  return `Voters:[${cs.voters.join(' ')}] Learners:[${cs.learners.join(' ')}]`
}

export function describeSnapshot(s: Snapshot): string {
  const { index, term, confState } = s.metadata
  return `Index:${index} Term:${term} ConfState:${describeConfState(confState)}`
}

export function describeHardState(hs: HardState): string {
  return `HardState Term:${hs.term} Vote:${hs.vote} Commit:${hs.commit}`
}

export function describeSoftState(ss: SoftState): string {
  return `Lead:${ss.lead} State:${ss.role}`
}

export function describeReadState(rs: ReadState): string {
  return `Index:${rs.index} Ctx:${describeBytes(rs.ctx)}`
}

/** One line per message. */
export function describeMessage(m: Message): string {
  let s = `${m.from}->${m.to} ${m.type} Term:${m.term} Log:${m.logTerm}/${m.index}`
  if (m.reject) s += m.type === 'MsgAppResp' ? ` Rejected (Hint: ${m.rejectHint})` : ' Rejected'
  if (m.commit !== 0) s += ` Commit:${m.commit}`
  if (m.entries.length > 0) s += ` Entries:[${m.entries.map(describeEntry).join(', ')}]`
  if (m.snapshot !== null) s += ` Snapshot:{${describeSnapshot(m.snapshot)}}`
  if (m.context.length > 0) s += ` Context:${describeBytes(m.context)}`
  return s
}

/**
 * A Ready as a header line plus one line per item, in the order the caller handles them. An empty
 * Ready is the single line `<empty Ready>`.
 */
export function describeReady(rd: Ready): string {
  const lines: string[] = []
  if (rd.softState) lines.push(describeSoftState(rd.softState))
  if (rd.hardState) lines.push(describeHardState(rd.hardState))
  if (rd.snapshot) lines.push(`Snapshot ${describeSnapshot(rd.snapshot)}`)
  const section = (title: string, items: readonly string[]): void => {
    if (items.length > 0) lines.push(`${title}:`, ...items)
  }
  section('Entries', rd.entries.map(describeEntry))
  section('CommittedEntries', rd.committedEntries.map(describeEntry))
  section('Messages', rd.messages.map(describeMessage))
  section('ReadStates', rd.readStates.map(describeReadState))
  if (lines.length === 0) return '<empty Ready>'
  return [`Ready MustSync=${rd.mustSync}:`, ...lines].join('\n')
}
