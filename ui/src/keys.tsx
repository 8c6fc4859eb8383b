/**
 * The Keys view: a prefix (breadcrumbs, or typed), the keys and folders under it one page at a
 * time (keys-model.ts), and the selected key's details, history and edits (key-detail.tsx).
 *
 * Keyboard: ↑/↓ move through the list, Enter opens, ← or Backspace goes up a folder, `/` types a
 * prefix, `n` starts a new key, Esc closes the details.
 *
 * @module
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { display, equal, toBase64, utf8 } from './bytes.ts'
import { formatCount } from './format.ts'
import { useSession } from './hooks.ts'
import { KeyDetail, NewKey } from './key-detail.tsx'
import { crumbs, loadPage, parent, type Page } from './keys-model.ts'

export const PAGE_SIZE = 50

export function KeysView() {
  const session = useSession()
  const [prefix, setPrefix] = useState<Uint8Array>(new Uint8Array(0))
  const [typed, setTyped] = useState('')
  /** Start keys of the pages before the current one, and of the current one. */
  const [starts, setStarts] = useState<Array<Uint8Array | null>>([null])
  const [page, setPage] = useState<Page | null>(null)
  const [total, setTotal] = useState<number | null>(null)
  const [error, setError] = useState('')
  const [selected, setSelected] = useState<Uint8Array | null>(null)
  const [creating, setCreating] = useState(false)
  const [reloads, setReloads] = useState(0)
  const listRef = useRef<HTMLOListElement>(null)
  const start = starts[starts.length - 1] ?? null

  useEffect(() => {
    const abort = new AbortController()
    setError('')
    loadPage(prefix, start, PAGE_SIZE, abort.signal).then(
      (p) => {
        setPage(p)
        if (start === null) setTotal(p.count)
      },
      (e: unknown) => {
        if (!abort.signal.aborted) setError(e instanceof Error ? e.message : String(e))
      },
    )
    return () => abort.abort()
  }, [toBase64(prefix), start === null ? '' : toBase64(start), reloads, session.epoch])

  const go = (next: Uint8Array): void => {
    setPrefix(next)
    setTyped(new TextDecoder().decode(next))
    setStarts([null])
    setPage(null)
    setTotal(null)
  }

  const focusRow = (delta: number): void => {
    const buttons = [...(listRef.current?.querySelectorAll<HTMLButtonElement>('button.row') ?? [])]
    const at = buttons.indexOf(document.activeElement as HTMLButtonElement)
    const next = buttons[Math.max(0, Math.min(buttons.length - 1, at < 0 ? 0 : at + delta))]
    next?.focus()
  }

  const onListKey = (e: KeyboardEvent): void => {
    if (e.key === 'ArrowDown' || e.key === 'j') focusRow(1)
    else if (e.key === 'ArrowUp' || e.key === 'k') focusRow(-1)
    else if (e.key === 'ArrowLeft' || e.key === 'Backspace') go(parent(prefix))
    else return
    e.preventDefault()
  }

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (listRef.current?.offsetParent == null) return // this view is hidden
      const t = e.target as HTMLElement
      if (t.closest('input, textarea, select') !== null || e.ctrlKey || e.metaKey || e.altKey) {
        if (e.key === 'Escape' && t instanceof HTMLElement) t.blur()
        return
      }
      if (e.key === 'Escape') {
        setSelected(null)
        setCreating(false)
      } else if (e.key === 'n') {
        e.preventDefault()
        setSelected(null)
        setCreating(true)
      }
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [])

  const pageNo = starts.length
  return (
    <section class="view keys" aria-label="Keys">
      <div class="panel list-panel">
        <form
          class="toolbar"
          onSubmit={(e) => {
            e.preventDefault()
            go(utf8(typed))
          }}
        >
          <input
            data-primary
            data-testid="prefix-input"
            class="mono grow"
            placeholder="prefix, e.g. /app/"
            aria-label="Key prefix"
            value={typed}
            onInput={(e) => setTyped((e.target as HTMLInputElement).value)}
          />
          <button type="submit">Go</button>
          <button
            type="button"
            onClick={() => {
              setSelected(null)
              setCreating(true)
            }}
            data-testid="new-key-button"
            title="n"
          >
            New key
          </button>
        </form>
        <nav class="crumbs" aria-label="Prefix" data-testid="crumbs">
          <button type="button" class="link" onClick={() => go(new Uint8Array(0))}>
            all keys
          </button>
          {crumbs(prefix).map((c) => (
            <span key={toBase64(c)}>
              <span class="sep">›</span>
              <button type="button" class="link mono" onClick={() => go(c)}>
                {display(c.subarray(parent(c).length))}
              </button>
            </span>
          ))}
        </nav>
        <div class="list-meta num">
          <span data-testid="key-count">
            {total === null ? ' ' : `${formatCount(total)} key${total === 1 ? '' : 's'} under this prefix`}
          </span>
          <span>page {pageNo}</span>
        </div>
        <ol class="rows" ref={listRef} onKeyDown={onListKey} data-testid="key-list" aria-label="Keys and folders">
          {page?.rows.map((row) => (
            <li key={toBase64(row.key)}>
              <button
                type="button"
                class={`row ${row.kind} ${selected !== null && equal(selected, row.key) ? 'selected' : ''}`}
                data-kind={row.kind}
                data-key={display(row.key)}
                onClick={() => {
                  if (row.kind === 'folder') go(row.key)
                  else {
                    setCreating(false)
                    setSelected(row.key)
                  }
                }}
              >
                <span class="icon" aria-hidden="true">
                  {row.kind === 'folder' ? '▸' : '·'}
                </span>
                <span class="mono ellipsis label">{row.label}</span>
                {row.kv !== undefined && (
                  <span class="num muted meta">
                    rev {row.kv.mod_revision} · v{row.kv.version}
                    {row.kv.lease !== undefined ? ' · lease' : ''}
                  </span>
                )}
              </button>
            </li>
          ))}
          {page !== null && page.rows.length === 0 && <li class="empty muted">No keys under this prefix.</li>}
          {error !== '' && <li class="error-inline">{error}</li>}
        </ol>
        <div class="pager">
          <button type="button" disabled={starts.length <= 1} onClick={() => setStarts(starts.slice(0, -1))} data-testid="prev-page">
            ← Previous
          </button>
          <button type="button" onClick={() => setReloads((n) => n + 1)}>
            Refresh
          </button>
          <button
            type="button"
            disabled={page?.next == null}
            onClick={() => page?.next != null && setStarts([...starts, page.next])}
            data-testid="next-page"
          >
            Next →
          </button>
        </div>
      </div>
      <div class="panel detail-panel">
        {creating ? (
          <NewKey
            initialKey={new TextDecoder().decode(prefix)}
            onClose={() => setCreating(false)}
            onCreated={(key) => {
              setCreating(false)
              setSelected(key)
              setReloads((n) => n + 1)
            }}
          />
        ) : selected !== null ? (
          <KeyDetail keyBytes={selected} onChanged={() => setReloads((n) => n + 1)} onClose={() => setSelected(null)} />
        ) : (
          <div class="placeholder-text muted">
            Select a key to see its value, revisions and history. <br />
            <kbd>↑</kbd> <kbd>↓</kbd> move · <kbd>Enter</kbd> open · <kbd>←</kbd> up a folder · <kbd>n</kbd> new key
          </div>
        )}
      </div>
    </section>
  )
}
