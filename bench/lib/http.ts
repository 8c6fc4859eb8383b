/**
 * Minimal HTTP for the benchmarks' own probes (node:http, keep-alive): one JSON POST with a
 * timeout, and a streaming POST (etcd's `/v3/watch`) read line by line.
 *
 * @module
 */
import { Agent, request, type ClientRequest } from 'node:http'

const agent = new Agent({ keepAlive: true, maxSockets: 64 })

/** Closes the kept-alive connections (they would keep a finished script running). */
export function closeConnections(): void {
  agent.destroy()
}

export interface HttpAnswer {
  readonly status: number
  readonly body: string
}

/** POSTs `body` to `url`; rejects on a socket error or after `timeoutMs`. */
export function postJson(url: string, body: string, timeoutMs = 5000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        clearTimeout(timer)
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') })
      })
      res.on('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
    })
    const timer = setTimeout(() => req.destroy(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs)
    req.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    req.end(body)
  })
}

export interface LineStream {
  /** Ends the request (destroys the socket). */
  close(): void
}

/**
 * Opens a streaming POST: sends `first` as the whole request body and calls `onLine` for every
 * line of the (open-ended) response. Resolves once the response headers arrived.
 */
export function openLineStream(url: string, first: string, onLine: (line: string) => void): Promise<LineStream> {
  return new Promise((resolve, reject) => {
    let req: ClientRequest | null = null
    req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`watch: HTTP ${res.statusCode}`))
        req?.destroy()
        return
      }
      let buf = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        buf += chunk
        let nl = buf.indexOf('\n')
        while (nl >= 0) {
          const line = buf.slice(0, nl).trim()
          buf = buf.slice(nl + 1)
          if (line !== '') onLine(line)
          nl = buf.indexOf('\n')
        }
      })
      res.on('error', () => undefined)
      resolve({ close: () => req?.destroy() })
    })
    req.on('error', reject)
    // The whole body at once: etcd 3.4's gateway (Go's HTTP/1.1 server) answers nothing until the
    // request body has ended; both keep the response stream open after that.
    req.end(`${first}\n`)
  })
}
