/**
 * etcd 3.4's `/config/local/log`: `PUT {"Level":"DEBUG"}` sets the member's log level at run time
 * (observed on etcd 3.4.23). The body is read as Go's json.Decoder reads it into a struct: the
 * first JSON value only, the field name in any case, a string or null; capnslog's level names
 * (CRITICAL, ERROR, WARNING, NOTICE, INFO, DEBUG, TRACE, their first letters, or 0-5 from ERROR
 * up), in any case. Answers: 204; 400 `{"message":"Invalid json body"}` or `{"message":"Invalid
 * log level <as given>"}`; 405 with `Allow: PUT` for any other method.
 *
 * @module
 */
import { CORS_HEADERS, parseRequestBody, TEXT_HEADERS, type JsonValue } from '../api/index.ts'

/** The levels a member logs at (pino's names). */
export type RuntimeLogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'

const LEVELS: Readonly<Record<string, RuntimeLogLevel>> = {
  CRITICAL: 'fatal', C: 'fatal',
  ERROR: 'error', '0': 'error', E: 'error',
  WARNING: 'warn', '1': 'warn', W: 'warn',
  NOTICE: 'info', '2': 'info', N: 'info',
  INFO: 'info', '3': 'info', I: 'info',
  DEBUG: 'debug', '4': 'debug', D: 'debug',
  TRACE: 'trace', '5': 'trace', T: 'trace',
}

function answer(status: number, message: string): Response {
  return new Response(JSON.stringify({ message }), { status, headers: { 'Content-Type': 'application/json', ...CORS_HEADERS } })
}

/** The `Level` field as json.Decoder fills `struct{ Level string }`; undefined: not such a body. */
function levelField(value: JsonValue): string | undefined {
  if (value.kind === 'null') return ''
  if (value.kind !== 'object') return undefined
  // Go takes an exact match of the field name, else one equal under case folding; the last wins.
  let level = ''
  for (const [key, v] of value.entries) {
    if (key.toLowerCase() !== 'level' || v.kind === 'null') continue
    if (v.kind !== 'string') return undefined
    level = v.value
  }
  return level
}

export async function handleLogLevel(request: Request, setLevel: (level: RuntimeLogLevel) => void): Promise<Response> {
  if (request.method !== 'PUT') return new Response('Method Not Allowed\n', { status: 405, headers: { ...TEXT_HEADERS, Allow: 'PUT' } })
  const text = await request.text()
  let level: string | undefined
  try {
    level = text.trim() === '' ? undefined : levelField(parseRequestBody(text))
  } catch {
    level = undefined
  }
  if (level === undefined) return answer(400, 'Invalid json body')
  const parsed = LEVELS[level.toUpperCase()]
  if (parsed === undefined) return answer(400, `Invalid log level ${level}`)
  setLevel(parsed)
  return new Response(null, { status: 204, headers: CORS_HEADERS })
}
