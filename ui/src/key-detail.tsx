/**
 * One key: its value and fields (create/mod revision, version, lease and the lease's TTL), its
 * past versions (read at earlier revisions until the first version or the compacted revision),
 * and edits that never overwrite a change the user has not seen: save and delete are txns that
 * compare the key's mod_revision with the one loaded, and a mismatch shows the conflict instead.
 * Also the form for a new key (a txn that only puts when the key does not exist).
 *
 * @module
 */
import { useEffect, useState } from 'preact/hooks'
import { ApiError, call, isCompacted, type KeyValue, type RangeResponse } from './api.ts'
import { asText, display, fromBase64, toBase64, utf8 } from './bytes.ts'
import { clip, formatCount, formatSeconds, hexId } from './format.ts'
import { useNow, useSession } from './hooks.ts'

interface TxnResponse {
  readonly header: { revision?: string }
  readonly succeeded?: boolean
  readonly responses?: Array<{ response_range?: RangeResponse }>
}

interface LeaseInfo {
  readonly ttl: number
  readonly granted: number
  readonly at: number
}

interface History {
  readonly versions: KeyValue[]
  /** Why there is nothing older: '' while more may be loaded. */
  readonly end: string
}

type Conflict = { readonly mine: 'save' | 'delete'; readonly current: KeyValue | null }

const HISTORY_STEP = 5

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** The key's current kv; null when it does not exist. */
async function readKey(key: Uint8Array, revision?: string): Promise<KeyValue | null> {
  const body: Record<string, unknown> = { key: toBase64(key) }
  if (revision !== undefined) body['revision'] = revision
  const answer = await call<RangeResponse>('/v3/kv/range', body)
  return answer.kvs?.[0] ?? null
}

/** A txn guarded by the key's mod_revision (0: the key must not exist); failure reads it back. */
async function guarded(key: Uint8Array, modRevision: string, op: Record<string, unknown>): Promise<TxnResponse> {
  const k = toBase64(key)
  return call<TxnResponse>('/v3/kv/txn', {
    compare: [{ key: k, target: 'MOD', result: 'EQUAL', mod_revision: modRevision }],
    success: [op],
    failure: [{ request_range: { key: k } }],
  })
}

function currentOf(answer: TxnResponse): KeyValue | null {
  return answer.responses?.[0]?.response_range?.kvs?.[0] ?? null
}

function putOp(key: Uint8Array, value: string, lease: string | undefined): Record<string, unknown> {
  const put: Record<string, unknown> = { key: toBase64(key), value: toBase64(utf8(value)) }
  if (lease !== undefined && lease !== '0') put['lease'] = lease
  return { request_put: put }
}

export function KeyDetail(props: {
  readonly keyBytes: Uint8Array
  readonly onChanged: () => void
  readonly onClose: () => void
}) {
  const session = useSession()
  const now = useNow(500)
  const [kv, setKv] = useState<KeyValue | null | undefined>(undefined)
  const [draft, setDraft] = useState('')
  const [lease, setLease] = useState<LeaseInfo | null>(null)
  const [history, setHistory] = useState<History>({ versions: [], end: '' })
  const [viewing, setViewing] = useState<KeyValue | null>(null)
  const [conflict, setConflict] = useState<Conflict | null>(null)
  const [confirmDelete, setConfirmDelete] = useState(false)
  const [message, setMessage] = useState<{ text: string; bad: boolean } | null>(null)
  const [busy, setBusy] = useState(false)
  const [reloads, setReloads] = useState(0)

  const keyB64 = toBase64(props.keyBytes)
  const load = async (): Promise<void> => {
    const current = await readKey(props.keyBytes)
    setKv(current)
    setDraft(asText(fromBase64(current?.value)) ?? '')
    setConflict(null)
    setConfirmDelete(false)
    setViewing(null)
    setHistory({ versions: current === null ? [] : [current], end: '' })
    setLease(null)
    if (current?.lease !== undefined && current.lease !== '0') {
      const ttl = await call<{ TTL?: string; grantedTTL?: string }>('/v3/lease/timetolive', { ID: current.lease })
      setLease({ ttl: Number(ttl.TTL ?? -1), granted: Number(ttl.grantedTTL ?? 0), at: Date.now() })
    }
  }

  useEffect(() => {
    setMessage(null)
    setKv(undefined)
    load().catch((e: unknown) => setMessage({ text: errorText(e), bad: true }))
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [keyB64, session.epoch, reloads])

  // Older versions, a few at a time, once the current one is in.
  const loadOlder = async (): Promise<void> => {
    const versions = [...history.versions]
    let end = ''
    for (let i = 0; i < HISTORY_STEP && end === ''; i++) {
      const oldest = versions[versions.length - 1]
      if (oldest === undefined) break
      if (oldest.version === '1') {
        end = `created at revision ${oldest.create_revision ?? '?'}`
        break
      }
      const before = Number(oldest.mod_revision) - 1
      try {
        const older = await readKey(props.keyBytes, String(before))
        if (older === null) end = `no earlier version at revision ${before}`
        else versions.push(older)
      } catch (e) {
        end = isCompacted(e) ? 'older versions were compacted' : errorText(e)
      }
    }
    const oldest = versions[versions.length - 1]
    if (end === '' && oldest?.version === '1') end = `created at revision ${oldest.create_revision ?? '?'}`
    setHistory({ versions, end })
  }
  useEffect(() => {
    if (kv !== undefined && kv !== null && history.versions.length === 1 && history.end === '') void loadOlder()
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [kv])

  const run = async (what: () => Promise<void>): Promise<void> => {
    setBusy(true)
    setMessage(null)
    try {
      await what()
    } catch (e) {
      setMessage({ text: e instanceof ApiError ? `${e.message} (code ${e.code})` : errorText(e), bad: true })
    } finally {
      setBusy(false)
    }
  }

  const save = (against: KeyValue | null): Promise<void> =>
    run(async () => {
      const answer = await guarded(props.keyBytes, against?.mod_revision ?? '0', putOp(props.keyBytes, draft, kv?.lease))
      if (answer.succeeded !== true) {
        setConflict({ mine: 'save', current: currentOf(answer) })
        return
      }
      setMessage({ text: `Saved at revision ${answer.header.revision ?? '?'}.`, bad: false })
      await load()
      props.onChanged()
    })

  const remove = (against: KeyValue | null): Promise<void> =>
    run(async () => {
      if (against === null) return
      const answer = await guarded(props.keyBytes, against.mod_revision ?? '0', {
        request_delete_range: { key: keyB64 },
      })
      if (answer.succeeded !== true) {
        setConflict({ mine: 'delete', current: currentOf(answer) })
        setConfirmDelete(false)
        return
      }
      setMessage({ text: `Deleted at revision ${answer.header.revision ?? '?'}.`, bad: false })
      await load()
      props.onChanged()
    })

  const value = fromBase64(kv?.value)
  const text = asText(value)
  const editable = kv !== undefined && kv !== null && text !== undefined && viewing === null
  const changed = editable && draft !== text
  const remaining = lease === null ? null : lease.ttl - (now - lease.at) / 1000

  return (
    <div class="detail" data-testid="key-detail">
      <div class="detail-head">
        <h2 class="mono ellipsis" title={display(props.keyBytes)} data-testid="detail-key">
          {display(props.keyBytes)}
        </h2>
        <button type="button" class="ghost" onClick={() => setReloads((n) => n + 1)} title="Read the key again">
          Refresh
        </button>
        <button type="button" class="ghost" onClick={props.onClose} aria-label="Close (Esc)">
          ✕
        </button>
      </div>
      <dl class="fields" data-testid="key-fields">
        <div>
          <dt>create rev</dt>
          <dd class="num" data-field="create_revision">{kv ? formatCount(kv.create_revision) : '–'}</dd>
        </div>
        <div>
          <dt>mod rev</dt>
          <dd class="num" data-field="mod_revision">{kv ? formatCount(kv.mod_revision) : '–'}</dd>
        </div>
        <div>
          <dt>version</dt>
          <dd class="num" data-field="version">{kv ? formatCount(kv.version) : '–'}</dd>
        </div>
        <div>
          <dt>lease</dt>
          <dd class="mono" data-field="lease">{kv?.lease ? hexId(kv.lease) : '–'}</dd>
        </div>
        <div>
          <dt>TTL</dt>
          <dd class="num" data-field="ttl">
            {remaining === null ? '–' : remaining < 0 && lease?.ttl === -1 ? 'expired' : formatSeconds(remaining)}
          </dd>
        </div>
        <div>
          <dt>size</dt>
          <dd class="num">{kv ? `${formatCount(value.length)} B` : '–'}</dd>
        </div>
      </dl>
      {kv === null && (
        <p class="notice" data-testid="key-missing">
          This key does not exist (any more).
        </p>
      )}
      {conflict !== null && (
        <div class="conflict" role="alert" data-testid="conflict">
          <strong>Conflict: the key changed since you loaded it; your {conflict.mine} was not applied.</strong>
          <p>
            {conflict.current === null
              ? 'It has been deleted.'
              : `It is now at mod revision ${conflict.current.mod_revision ?? '?'} (version ${conflict.current.version ?? '?'}), ` +
                `value "${clip(display(fromBase64(conflict.current.value)), 80)}".`}
          </p>
          <div class="buttons">
            <button type="button" onClick={() => setReloads((n) => n + 1)} data-testid="conflict-reload">
              Discard mine, reload
            </button>
            <button
              type="button"
              class="danger"
              disabled={busy}
              onClick={() => void (conflict.mine === 'save' ? save(conflict.current) : remove(conflict.current))}
            >
              {conflict.mine === 'save' ? 'Overwrite with mine' : 'Delete anyway'}
            </button>
          </div>
        </div>
      )}
      {viewing !== null ? (
        <div class="value-box">
          <div class="value-label">
            Value at revision {viewing.mod_revision} (version {viewing.version}){' '}
            <button type="button" class="link" onClick={() => setViewing(null)}>
              back to current
            </button>
          </div>
          <pre class="value readonly" data-testid="history-value">
            {display(fromBase64(viewing.value))}
          </pre>
        </div>
      ) : (
        <div class="value-box">
          <label class="value-label" for="value-editor">
            Value{text === undefined && kv ? ' (binary: shown escaped, not editable)' : ''}
          </label>
          <textarea
            id="value-editor"
            class="value"
            data-testid="value-editor"
            spellcheck={false}
            disabled={!editable}
            value={text === undefined ? display(value) : draft}
            onInput={(e) => setDraft((e.target as HTMLTextAreaElement).value)}
            onKeyDown={(e) => {
              if ((e.ctrlKey || e.metaKey) && e.key === 'Enter' && changed) void save(kv ?? null)
            }}
          />
        </div>
      )}
      <div class="buttons">
        <button
          type="button"
          class="primary"
          disabled={!changed || busy}
          onClick={() => void save(kv ?? null)}
          data-testid="save"
          title="Ctrl+Enter"
        >
          Save
        </button>
        <button type="button" disabled={!changed || busy} onClick={() => setDraft(text ?? '')}>
          Revert
        </button>
        <span class="spacer" />
        {confirmDelete ? (
          <>
            <button type="button" class="danger" disabled={busy} onClick={() => void remove(kv ?? null)} data-testid="confirm-delete">
              Really delete
            </button>
            <button type="button" onClick={() => setConfirmDelete(false)}>
              Keep
            </button>
          </>
        ) : (
          <button type="button" disabled={!kv || busy} onClick={() => setConfirmDelete(true)} data-testid="delete">
            Delete…
          </button>
        )}
      </div>
      <p class={`status-line ${message?.bad ? 'bad' : 'ok'}`} data-testid="detail-message" role="status">
        {message?.text ?? ' '}
      </p>
      <h3>History</h3>
      <ol class="history" data-testid="history">
        {history.versions.map((v) => (
          <li key={v.mod_revision}>
            <button
              type="button"
              class={`history-row ${viewing?.mod_revision === v.mod_revision ? 'selected' : ''}`}
              onClick={() => setViewing(v === history.versions[0] ? null : v)}
            >
              <span class="num">rev {v.mod_revision}</span>
              <span class="num muted">v{v.version}</span>
              <span class="mono ellipsis">{clip(display(fromBase64(v.value)), 120)}</span>
            </button>
          </li>
        ))}
        <li class="history-end muted">
          {history.end !== '' ? (
            history.end
          ) : history.versions.length > 0 ? (
            <button type="button" class="link" onClick={() => void loadOlder()}>
              older versions…
            </button>
          ) : (
            ' '
          )}
        </li>
      </ol>
    </div>
  )
}

export function NewKey(props: {
  readonly initialKey: string
  readonly onCreated: (key: Uint8Array) => void
  readonly onClose: () => void
}) {
  const [key, setKey] = useState(props.initialKey)
  const [value, setValue] = useState('')
  const [lease, setLease] = useState('')
  const [message, setMessage] = useState<{ text: string; bad: boolean } | null>(null)
  const [busy, setBusy] = useState(false)
  const create = async (): Promise<void> => {
    setBusy(true)
    setMessage(null)
    try {
      const bytes = utf8(key)
      const leaseId = lease.trim() === '' ? undefined : /^0x/i.test(lease.trim()) ? BigInt(lease.trim()).toString() : lease.trim()
      const answer = await guarded(bytes, '0', putOp(bytes, value, leaseId))
      if (answer.succeeded !== true) {
        const current = currentOf(answer)
        setMessage({ text: `The key already exists (version ${current?.version ?? '?'}); nothing was written.`, bad: true })
        return
      }
      props.onCreated(bytes)
    } catch (e) {
      setMessage({ text: errorText(e), bad: true })
    } finally {
      setBusy(false)
    }
  }
  return (
    <form
      class="detail"
      data-testid="new-key"
      onSubmit={(e) => {
        e.preventDefault()
        void create()
      }}
    >
      <div class="detail-head">
        <h2>New key</h2>
        <button type="button" class="ghost" onClick={props.onClose} aria-label="Close (Esc)">
          ✕
        </button>
      </div>
      <label class="value-label" for="new-key-name">
        Key
      </label>
      <input id="new-key-name" class="mono wide" value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} autoFocus />
      <label class="value-label" for="new-key-value">
        Value
      </label>
      <textarea id="new-key-value" class="value" spellcheck={false} value={value} onInput={(e) => setValue((e.target as HTMLTextAreaElement).value)} />
      <label class="value-label" for="new-key-lease">
        Lease ID (optional, decimal or 0x-hex)
      </label>
      <input id="new-key-lease" class="mono" value={lease} onInput={(e) => setLease((e.target as HTMLInputElement).value)} />
      <div class="buttons">
        <button type="submit" class="primary" disabled={busy || key === ''} data-testid="create">
          Create
        </button>
      </div>
      <p class={`status-line ${message?.bad ? 'bad' : 'ok'}`} role="status">
        {message?.text ?? ' '}
      </p>
    </form>
  )
}
