/**
 * etcd's check of the peer URLs in a member add (types.NewURLs): at least one URL, each (after
 * trimming spaces) parsing like Go's url.Parse with scheme http, https, unix or unixs, a
 * `host:port` authority (the port may be empty, as net.SplitHostPort allows) and no path.
 * Query and fragment are tolerated, as in Go.
 *
 * @module
 */

const SCHEMES = new Set(['http', 'https', 'unix', 'unixs'])
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/
/** Characters Go's url.Parse accepts unescaped in a host. */
const HOST_CHARS = /^[A-Za-z0-9\-_.~!$&'()*+,;=:[\]<>"%\u0080-\uffff]*$/
const PORT = /^(:[0-9]*)?$/
const CONTROL = /[\x00-\x1f\x7f]/

/** net.SplitHostPort succeeds. */
function splitsHostPort(hostport: string): boolean {
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']')
    if (close < 0) return false
    const rest = hostport.slice(close + 1)
    return rest.startsWith(':') && !rest.slice(1).includes(':') && !hostport.slice(1, close).includes('[')
  }
  const colon = hostport.lastIndexOf(':')
  if (colon < 0) return false
  const host = hostport.slice(0, colon)
  return !host.includes(':') && !host.includes('[') && !host.includes(']') && !hostport.slice(colon).includes(']')
}

/** url.Parse accepts the host part of an authority. */
function validHost(host: string): boolean {
  if (!HOST_CHARS.test(host)) return false
  if (host.startsWith('[')) {
    const close = host.lastIndexOf(']')
    return close > 0 && PORT.test(host.slice(close + 1))
  }
  const colon = host.lastIndexOf(':')
  return colon < 0 || PORT.test(host.slice(colon))
}

export function validPeerUrl(input: string): boolean {
  const raw = input.trim()
  if (CONTROL.test(raw)) return false
  const m = SCHEME.exec(raw)
  if (m === null || !SCHEMES.has((m[1] as string).toLowerCase())) return false
  const rest = raw.slice(m[0].length).replace(/[#?][\s\S]*$/, '')
  // "//authority"; a path after it (even "/") fails the host check ('/' is no host character).
  if (!rest.startsWith('//')) return false
  const authority = rest.slice(2)
  const host = authority.slice(authority.lastIndexOf('@') + 1)
  return validHost(host) && splitsHostPort(host)
}

export function validPeerUrls(urls: readonly string[]): boolean {
  return urls.length > 0 && urls.every(validPeerUrl)
}
