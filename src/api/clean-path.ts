/**
 * Go's ServeMux path cleaning, which etcd's HTTP server applies before routing: a request path
 * that is not clean (`//`, `/./`, `/../` anywhere) is answered 301 with the clean path (and the
 * request's query) as Location, whatever the method.
 *
 * @module
 */

/**
 * The clean form of `path`, as Go's cleanPath: a leading slash, no empty, `.` or `..` segments
 * (`..` removes the segment before it, and stops at the root), and a trailing slash kept if the
 * path had one (except for the root itself).
 */
export function cleanPath(path: string): string {
  const segments: string[] = []
  for (const s of path.split('/')) {
    if (s === '' || s === '.') continue
    if (s === '..') segments.pop()
    else segments.push(s)
  }
  const clean = `/${segments.join('/')}`
  return path.endsWith('/') && clean !== '/' ? `${clean}/` : clean
}
