/**
 * Small hooks shared by the views: the auth session as state, a ticking clock for countdowns,
 * and a polling loop that never overlaps itself.
 *
 * @module
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { session } from './api.ts'

/** Re-renders on login, logout and login requests; returns the session. */
export function useSession(): typeof session {
  const [, setTick] = useState(0)
  useEffect(() => session.subscribe(() => setTick((n) => n + 1)), [])
  return session
}

/** The current time, updated every `ms`. */
export function useNow(ms: number): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms)
    return () => clearInterval(timer)
  }, [ms])
  return now
}

/**
 * Runs `task` now and then `ms` after each run finishes, until unmount or until `deps` change.
 * The task gets a signal that aborts on unmount.
 */
export function usePoll(task: (signal: AbortSignal) => Promise<void>, ms: number, deps: readonly unknown[]): void {
  const latest = useRef(task)
  latest.current = task
  useEffect(() => {
    const abort = new AbortController()
    let timer: ReturnType<typeof setTimeout> | undefined
    const loop = async (): Promise<void> => {
      try {
        await latest.current(abort.signal)
      } catch {
        // the task shows its own errors
      }
      if (!abort.signal.aborted) timer = setTimeout(() => void loop(), ms)
    }
    void loop()
    return () => {
      abort.abort()
      clearTimeout(timer)
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ms, ...deps])
}
