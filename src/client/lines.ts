/**
 * The lines of a streamed answer (newline-delimited `{"result":…}` messages), as they arrive. A
 * last line without its newline is still given (an error body ends that way). When `stop` fires,
 * the body is cancelled and the lines end, even while waiting for the next one.
 *
 * @module
 */

export async function* lines(body: ReadableStream<Uint8Array>, stop?: AbortSignal): AsyncGenerator<string> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let text = ''
  const cancel = (): void => void reader.cancel().catch(() => undefined)
  if (stop?.aborted === true) cancel()
  stop?.addEventListener('abort', cancel)
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value, { stream: true })
      let nl = text.indexOf('\n')
      while (nl >= 0) {
        const line = text.slice(0, nl).trim()
        text = text.slice(nl + 1)
        if (line !== '') yield line
        nl = text.indexOf('\n')
      }
    }
    const last = (text + decoder.decode()).trim()
    if (last !== '') yield last
  } finally {
    stop?.removeEventListener('abort', cancel)
    cancel()
  }
}
