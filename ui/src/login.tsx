/**
 * The login form, shown over the page when the cluster asks for a token (auth enabled) or when
 * the user asks to log in. The token goes to `session` (memory only) and is sent as the raw
 * `Authorization` header, as etcd wants it.
 *
 * @module
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { ApiError, session } from './api.ts'

export function LoginDialog() {
  const [name, setName] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState('')
  const [busy, setBusy] = useState(false)
  const first = useRef<HTMLInputElement>(null)
  useEffect(() => first.current?.focus(), [])
  const submit = async (): Promise<void> => {
    setBusy(true)
    setError('')
    try {
      await session.login(name, password)
    } catch (e) {
      if (e instanceof ApiError && /authentication is not enabled/.test(e.message) && session.token !== null) {
        // Auth was turned off since this tab logged in: its token is refused now, so drop it.
        session.logout()
        session.cancelLogin()
        return
      }
      setError(
        e instanceof ApiError && /authentication is not enabled/.test(e.message)
          ? 'Authentication is not enabled on this cluster: no login needed.'
          : e instanceof Error
            ? e.message
            : String(e),
      )
    } finally {
      setBusy(false)
    }
  }
  return (
    <div
      class="overlay"
      role="dialog"
      aria-modal="true"
      aria-labelledby="login-title"
      onKeyDown={(e) => e.key === 'Escape' && session.cancelLogin()}
    >
      <form
        class="login panel"
        data-testid="login"
        onSubmit={(e) => {
          e.preventDefault()
          void submit()
        }}
      >
        <h2 id="login-title">Log in to the cluster</h2>
        <p class="muted small">Authentication is enabled. The token is kept in this tab's memory only.</p>
        <label for="login-name">User</label>
        <input id="login-name" ref={first} autoComplete="username" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        <label for="login-password">Password</label>
        <input
          id="login-password"
          type="password"
          autoComplete="current-password"
          value={password}
          onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
        />
        <p class="status-line bad" role="alert" data-testid="login-error">
          {error || ' '}
        </p>
        <div class="buttons">
          <button type="submit" class="primary" disabled={busy || name === ''} data-testid="login-submit">
            Log in
          </button>
          <button type="button" onClick={() => session.cancelLogin()}>
            Cancel
          </button>
        </div>
      </form>
    </div>
  )
}
