/**
 * The page's calls to the gateway: etcd v3 JSON over POST (with the session's token), the
 * watch stream (a streaming POST read line by line), and the auth session. The token lives in
 * this module's memory only: a reload means logging in again.
 *
 * An answer that says authentication is needed (no token: 400 `user name is empty`; a bad or
 * expired token: 401) opens the login form (see `session`), and the view retries after login.
 *
 * @module
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export function isAuthError(error: unknown): boolean {
  if (!(error instanceof ApiError)) return false
  return error.code === 16 || (error.code === 3 && /user name is empty/.test(error.message))
}

export function isCompacted(error: unknown): boolean {
  return error instanceof ApiError && error.code === 11 && /compacted/.test(error.message)
}

type Listener = () => void

/** Who is logged in, and whether a login is needed. Views re-run their loads when `epoch` moves. */
class Session {
  token: string | null = null
  user = ''
  loginNeeded = false
  /** Bumped on login and logout, so views reload. */
  epoch = 0
  readonly #listeners = new Set<Listener>()

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  requireLogin(): void {
    if (this.loginNeeded) return
    this.loginNeeded = true
    this.#notify()
  }

  async login(name: string, password: string): Promise<void> {
    const answer = await call<{ token?: string }>('/v3/auth/authenticate', { name, password }, { anonymous: true })
    if (answer.token === undefined || answer.token === '') throw new Error('the server sent no token')
    this.token = answer.token
    this.user = name
    this.loginNeeded = false
    this.epoch++
    this.#notify()
  }

  logout(): void {
    this.token = null
    this.user = ''
    this.epoch++
    this.#notify()
  }

  cancelLogin(): void {
    this.loginNeeded = false
    this.#notify()
  }

  #notify(): void {
    for (const l of this.#listeners) l()
  }
}

export const session = new Session()

function headers(anonymous: boolean): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/json' }
  if (!anonymous && session.token !== null) h['authorization'] = session.token
  return h
}

async function failure(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '')
  let code = 0
  let message = text.trim() || `HTTP ${res.status}`
  try {
    const body = JSON.parse(text) as { code?: number; message?: string; error?: string }
    code = body.code ?? 0
    message = body.message ?? body.error ?? message
  } catch {
    // not JSON: keep the text
  }
  return new ApiError(res.status, code, message)
}

/** One etcd API call. Rejects with ApiError on a non-200 answer. */
export async function call<T>(
  path: string,
  body: unknown = {},
  options: { readonly signal?: AbortSignal; readonly anonymous?: boolean } = {},
): Promise<T> {
  const res = await fetch(path, {
    method: 'POST',
    headers: headers(options.anonymous ?? false),
    body: JSON.stringify(body),
    signal: options.signal ?? null,
  })
  if (res.status !== 200) {
    const error = await failure(res)
    if (isAuthError(error) && !options.anonymous) session.requireLogin()
    throw error
  }
  return (await res.json()) as T
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, { headers: headers(false), signal: signal ?? null })
  if (res.status !== 200) throw await failure(res)
  return (await res.json()) as T
}

// ---- etcd shapes ---------------------------------------------------------------------------------

export interface KeyValue {
  readonly key: string
  readonly create_revision?: string
  readonly mod_revision?: string
  readonly version?: string
  readonly value?: string
  readonly lease?: string
}

export interface Header {
  readonly revision?: string
  readonly raft_term?: string
  readonly member_id?: string
}

export interface RangeResponse {
  readonly header: Header
  readonly kvs?: KeyValue[]
  readonly more?: boolean
  readonly count?: string
}

export interface Event {
  readonly type?: 'DELETE'
  readonly kv: KeyValue
  readonly prev_kv?: KeyValue
}

export interface WatchResult {
  readonly header?: Header
  readonly created?: boolean
  readonly canceled?: boolean
  readonly cancel_reason?: string
  readonly compact_revision?: string
  readonly events?: Event[]
}

// ---- watch ---------------------------------------------------------------------------------------

export interface WatchHandlers {
  onResult(result: WatchResult): void
  /** The stream ended: by an error, by the server, or (error undefined) by `close`. */
  onEnd(error: Error | undefined): void
}

/**
 * Opens `POST /v3/watch` with one create request and reads its answer line by line until
 * `close()` (the request body is a plain string: the watch stays open after it ends).
 */
export function openWatch(create: Record<string, unknown>, handlers: WatchHandlers): { close(): void } {
  const abort = new AbortController()
  let closed = false
  const run = async (): Promise<void> => {
    const res = await fetch('/v3/watch', {
      method: 'POST',
      headers: headers(false),
      body: JSON.stringify({ create_request: create }),
      signal: abort.signal,
    })
    if (res.status !== 200 || res.body === null) {
      const error = await failure(res)
      if (isAuthError(error)) session.requireLogin()
      throw error
    }
    const reader = res.body.getReader()
    const decoder = new TextDecoder()
    let buffer = ''
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      buffer += decoder.decode(value, { stream: true })
      let nl: number
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim()
        buffer = buffer.slice(nl + 1)
        if (line === '') continue
        const message = JSON.parse(line) as { result?: WatchResult; error?: unknown; code?: number; message?: string }
        if (message.result !== undefined) {
          const reason = message.result.cancel_reason ?? ''
          if (/user name is empty|invalid auth token/.test(reason)) session.requireLogin()
          handlers.onResult(message.result)
        } else {
          const e = (message.error ?? message) as { code?: number; message?: string }
          throw new ApiError(500, e.code ?? 2, e.message ?? line)
        }
      }
    }
    throw new Error('the watch stream ended')
  }
  run().then(
    () => undefined,
    (error: unknown) => {
      if (closed) return
      closed = true
      handlers.onEnd(error instanceof Error ? error : new Error(String(error)))
    },
  )
  return {
    close(): void {
      if (closed) return
      closed = true
      abort.abort()
      handlers.onEnd(undefined)
    },
  }
}
