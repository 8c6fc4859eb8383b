/**
 * A WebSocket client for tests of the API over WebSocket: it keeps every message (all must be
 * text) and how the socket closed.
 */
import assert from 'node:assert/strict'
import WebSocket from 'ws'

/** A WebSocket client that keeps every message and how the socket closed. */
export class WsClient {
  readonly messages: string[] = []
  readonly ws: WebSocket
  readonly opened: Promise<void>
  readonly closed: Promise<number>
  #waiters: Array<() => void> = []

  constructor(url: string, options: { protocols?: string[]; cookie?: string } = {}) {
    const headers = options.cookie === undefined ? {} : { Cookie: options.cookie }
    this.ws = new WebSocket(url, options.protocols ?? [], { headers })
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve())
      this.ws.once('error', reject)
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`no upgrade: HTTP ${res.statusCode}`)))
    })
    this.closed = new Promise((resolve) => this.ws.once('close', (code) => resolve(code)))
    this.ws.on('message', (data, isBinary) => {
      assert.equal(isBinary, false, 'answers are text messages')
      this.messages.push(String(data))
      for (const wake of this.#waiters.splice(0)) wake()
    })
  }

  static async open(url: string, options?: { protocols?: string[]; cookie?: string }): Promise<WsClient> {
    const client = new WsClient(url, options)
    await client.opened
    return client
  }

  /** The `n`th message (0-based), waiting for it up to `timeoutMs`. */
  async nth(n: number, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    while (this.messages.length <= n) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no message ${n} within ${timeoutMs} ms; got ${JSON.stringify(this.messages)}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    return this.messages[n] as string
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message))
  }

  close(): void {
    this.ws.close()
  }
}

export function wsUrl(base: string, path: string): string {
  return base.replace(/^http/, 'ws') + path
}
