/**
 * The Watch view: a live stream of the events under a prefix (POST /v3/watch through the
 * gateway), optionally from a past revision, newest first, each with its revision. Pausing keeps
 * the stream open and holds new events back until resumed, so nothing is missed and the table
 * stands still while being read.
 *
 * @module
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { openWatch, type WatchResult } from './api.ts'
import { display, fromBase64, prefixEnd, toBase64, utf8 } from './bytes.ts'
import { clip, formatClock, formatCount } from './format.ts'

interface Row {
  readonly id: number
  readonly revision: string
  readonly type: 'PUT' | 'DELETE'
  readonly key: string
  readonly version: string
  readonly value: string
  readonly time: number
}

const KEEP = 500

type State = 'idle' | 'starting' | 'watching' | 'ended'

export function WatchView() {
  const [prefix, setPrefix] = useState('')
  const [from, setFrom] = useState('')
  const [state, setState] = useState<State>('idle')
  const [status, setStatus] = useState('Not watching.')
  const [rows, setRows] = useState<Row[]>([])
  const [paused, setPaused] = useState(false)
  const [held, setHeld] = useState(0)
  const [lastRevision, setLastRevision] = useState('')
  const [total, setTotal] = useState(0)
  const watch = useRef<{ close(): void } | null>(null)
  const buffer = useRef<Row[]>([])
  const pausedRef = useRef(false)
  const nextId = useRef(0)

  useEffect(() => () => watch.current?.close(), [])

  const push = (incoming: Row[]): void => {
    if (pausedRef.current) {
      buffer.current.push(...incoming)
      setHeld(buffer.current.length)
      return
    }
    setRows((old) => [...incoming.reverse(), ...old].slice(0, KEEP))
  }

  const onResult = (r: WatchResult): void => {
    if (r.header?.revision !== undefined) setLastRevision(r.header.revision)
    if (r.created === true && r.canceled !== true) {
      setState('watching')
      setStatus(`Watching since revision ${r.header?.revision ?? '?'}.`)
    }
    if (r.canceled === true) {
      const why =
        r.compact_revision !== undefined
          ? `the start revision was compacted; the oldest available is ${r.compact_revision}`
          : (r.cancel_reason ?? 'cancelled by the server')
      setStatus(`Watch cancelled: ${why}.`)
      setState('ended')
      watch.current?.close()
      return
    }
    const events = r.events ?? []
    if (events.length === 0) return
    setTotal((n) => n + events.length)
    push(
      events.map((e) => ({
        id: nextId.current++,
        revision: e.kv.mod_revision ?? '',
        type: e.type === 'DELETE' ? 'DELETE' : 'PUT',
        key: display(fromBase64(e.kv.key)),
        version: e.kv.version ?? '',
        value: e.type === 'DELETE' ? '' : clip(display(fromBase64(e.kv.value)), 200),
        time: Date.now(),
      })),
    )
  }

  const start = (): void => {
    watch.current?.close()
    const bytes = utf8(prefix)
    const create: Record<string, unknown> =
      bytes.length === 0
        ? { key: toBase64(new Uint8Array([0])), range_end: toBase64(new Uint8Array([0])) }
        : { key: toBase64(bytes), range_end: toBase64(prefixEnd(bytes)) }
    if (/^\d+$/.test(from.trim()) && Number(from) > 0) create['start_revision'] = from.trim()
    setRows([])
    setTotal(0)
    buffer.current = []
    setHeld(0)
    setState('starting')
    setStatus('Connecting…')
    watch.current = openWatch(create, {
      onResult,
      onEnd: (error) => {
        setState('ended')
        if (error !== undefined) setStatus(`Stream ended: ${error.message}`)
        else setStatus('Stopped.')
      },
    })
  }

  const stop = (): void => {
    watch.current?.close()
    watch.current = null
  }

  const togglePause = (): void => {
    const next = !pausedRef.current
    pausedRef.current = next
    setPaused(next)
    if (!next) {
      const flushed = buffer.current
      buffer.current = []
      setHeld(0)
      setRows((old) => [...flushed.reverse(), ...old].slice(0, KEEP))
    }
  }

  const running = state === 'watching' || state === 'starting'
  return (
    <section class="view watch" aria-label="Watch">
      <div class="panel">
        <form
          class="toolbar"
          onSubmit={(e) => {
            e.preventDefault()
            start()
          }}
        >
          <label class="inline">
            Prefix
            <input
              data-primary
              data-testid="watch-prefix"
              class="mono grow"
              placeholder="(all keys)"
              value={prefix}
              onInput={(e) => setPrefix((e.target as HTMLInputElement).value)}
            />
          </label>
          <label class="inline">
            from revision
            <input
              class="num rev-input"
              inputMode="numeric"
              placeholder="now"
              value={from}
              onInput={(e) => setFrom((e.target as HTMLInputElement).value)}
            />
          </label>
          <button type="submit" class="primary" data-testid="watch-start">
            {running ? 'Restart' : 'Start'}
          </button>
          <button type="button" disabled={!running} onClick={stop} data-testid="watch-stop">
            Stop
          </button>
          <button type="button" disabled={!running} onClick={togglePause} data-testid="watch-pause" aria-pressed={paused}>
            {paused ? 'Resume' : 'Pause'}
          </button>
          <button type="button" onClick={() => setRows([])}>
            Clear
          </button>
        </form>
        <div class="watch-status num" role="status">
          <span class={`dot ${state === 'watching' ? (paused ? 'paused' : 'live') : 'off'}`} aria-hidden="true" />
          <span data-testid="watch-status" class="grow ellipsis">
            {status}
          </span>
          <span data-testid="watch-held">{paused ? `paused · ${formatCount(held)} held back` : ' '}</span>
          <span>{formatCount(total)} events</span>
          <span>rev {lastRevision || '–'}</span>
        </div>
        <div class="table-scroll watch-scroll">
          <table class="grid-table events-table" data-testid="watch-events">
            <colgroup>
              <col class="c-time" />
              <col class="c-rev" />
              <col class="c-type" />
              <col class="c-key" />
              <col class="c-ver" />
              <col />
            </colgroup>
            <thead>
              <tr>
                <th>Time</th>
                <th class="r">Revision</th>
                <th>Type</th>
                <th>Key</th>
                <th class="r">Version</th>
                <th>Value</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id} data-testid="watch-event" data-type={r.type} data-revision={r.revision}>
                  <td class="num muted">{formatClock(r.time)}</td>
                  <td class="r num">{r.revision}</td>
                  <td>
                    <span class={`badge ev-${r.type.toLowerCase()}`}>{r.type}</span>
                  </td>
                  <td class="mono ellipsis" title={r.key}>
                    {r.key}
                  </td>
                  <td class="r num">{r.type === 'DELETE' ? '' : r.version}</td>
                  <td class="mono ellipsis" title={r.value}>
                    {r.value}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {rows.length === 0 && <p class="empty muted">{running ? 'Waiting for events…' : 'Start a watch to see events.'}</p>}
        </div>
      </div>
    </section>
  )
}
