/**
 * HTTP answers: §4's code → status table and error body, §1's plain-text and CORS answers, the
 * router, and the client's reading of error bodies.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EtcdError, Errors, GrpcCode } from '../../src/mvcc/errors.ts'
import {
  ApiErrors, CORS_HEADERS, errorFromBody, errorResponse, httpStatus, jsonResponse, kvRange, leaseRevoke, methodNotAllowed,
  cleanPathRedirect, movedPermanently, notFound, pageNotFound, preflight, route, streamErrorLine, watch, type Route,
} from '../../src/api/index.ts'
import { cleanPath } from '../../src/api/clean-path.ts'

/** §4: code, HTTP status, an observed message. */
const TABLE: readonly [number, number, string][] = [
  [2, 500, 'context deadline exceeded'],
  [3, 400, 'etcdserver: key is not provided'],
  [5, 404, 'etcdserver: requested lease not found'],
  [7, 403, 'etcdserver: permission denied'],
  [8, 429, 'grpc: received message larger than max (2097163 vs. 2097152)'],
  [9, 412, 'etcdserver: lease already exists'],
  [11, 400, 'etcdserver: mvcc: required revision has been compacted'],
  [14, 503, 'etcdserver: request timed out'],
  [16, 401, 'etcdserver: invalid auth token'],
]

for (const [code, status, message] of TABLE) {
  test(`§4 code ${code} → HTTP ${status}, body {error, message, code}`, () => {
    const r = errorResponse(new EtcdError(code as GrpcCode, message))
    assert.equal(r.status, status)
    assert.equal(r.body, `{"error":"${message}","message":"${message}","code":${code}}`)
    assert.equal(r.headers['Content-Type'], 'application/json')
    assert.equal(r.headers['Access-Control-Allow-Origin'], '*')
  })
}

test('the rest of grpc-gateway v1\'s table', () => {
  assert.deepEqual(
    [GrpcCode.Canceled, GrpcCode.DeadlineExceeded, GrpcCode.AlreadyExists, GrpcCode.Aborted, GrpcCode.Unimplemented,
      GrpcCode.Internal, GrpcCode.DataLoss, GrpcCode.OK].map(httpStatus),
    [408, 504, 409, 409, 501, 500, 500, 200],
  )
})

test('the errors the server raises map as observed', () => {
  assert.equal(errorResponse(Errors.timeout()).status, 503)
  assert.equal(errorResponse(ApiErrors.deadlineExceeded()).status, 504)
  assert.equal(streamErrorLine(ApiErrors.streamDeadlineExceeded()),
    '{"error":{"grpc_code":2,"http_code":500,"message":"context deadline exceeded","http_status":"Internal Server Error"}}')
  assert.equal(errorResponse(Errors.unhealthy()).status, 503)
})

test('anything that is not an EtcdError is a 500 / 2 with its message', () => {
  assert.deepEqual(
    [errorResponse(new Error('boom')).status, errorResponse(new Error('boom')).body],
    [500, '{"error":"boom","message":"boom","code":2}'],
  )
})

test('§1 success headers: JSON, the gRPC content type, CORS', () => {
  assert.deepEqual(jsonResponse('{}'), {
    status: 200,
    headers: {
      'Content-Type': 'application/json',
      'Grpc-Metadata-Content-Type': 'application/grpc',
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': 'POST, GET, OPTIONS, PUT, DELETE',
      'Access-Control-Allow-Headers': 'accept, content-type, authorization',
    },
    body: '{}',
  })
})

test('§1 error headers: JSON and CORS, without the gRPC content type (etcd sends it as a trailer)', () => {
  assert.deepEqual(errorResponse(Errors.futureRev()).headers, {
    'Content-Type': 'application/json',
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Methods': 'POST, GET, OPTIONS, PUT, DELETE',
    'Access-Control-Allow-Headers': 'accept, content-type, authorization',
  })
})

test('§1 plain-text 404 and 405 (Go\'s http.Error), Go\'s 404 page, the CORS preflight', () => {
  assert.deepEqual([notFound().status, notFound().body, notFound().headers['Content-Type']], [404, 'Not Found\n', 'text/plain; charset=utf-8'])
  assert.deepEqual([methodNotAllowed().status, methodNotAllowed().body], [405, 'Method Not Allowed\n'])
  assert.deepEqual([pageNotFound().status, pageNotFound().body], [404, '404 page not found\n'])
  assert.deepEqual(preflight(), { status: 200, headers: CORS_HEADERS, body: '' })
})

test('§1 routing: POST only, /v3beta twins, aliases, 404 under /v3, nothing outside', () => {
  assert.deepEqual(route('POST', '/v3/kv/range'), { endpoint: kvRange })
  assert.deepEqual(route('POST', '/v3beta/kv/range'), { endpoint: kvRange })
  assert.deepEqual(route('POST', '/v3beta/kv/lease/revoke'), { endpoint: leaseRevoke })
  assert.deepEqual(route('POST', '/v3/watch'), { endpoint: watch })
  assert.deepEqual(route('GET', '/v3/kv/range'), { response: methodNotAllowed() })
  assert.deepEqual(route('POST', '/v3/kv/nothing'), { response: notFound() })
  assert.deepEqual(route('GET', '/v3/kv/nothing'), { response: notFound() })
  assert.deepEqual(route('OPTIONS', '/v3/kv/range'), { response: preflight() })
  assert.equal(route('POST', '/v3alpha/kv/range'), null)
  assert.equal(route('GET', '/health'), null)
})

test('§1 routing: a path that is not clean is redirected (301) to the clean one, as Go\'s ServeMux does', () => {
  // Seen on etcd 3.4.23: POST //v3/kv/range → 301, Location: /v3/kv/range, no body.
  const moved = (location: string): Route => ({ response: movedPermanently(location) })
  assert.deepEqual(route('POST', '//v3/kv/range'), moved('/v3/kv/range'))
  assert.deepEqual(route('POST', '/v3/./kv//range', '?x=1'), moved('/v3/kv/range?x=1'))
  assert.deepEqual(route('GET', '/v3/kv/../kv/range'), moved('/v3/kv/range'))
  assert.deepEqual(route('GET', '//health'), moved('/health'))
  assert.deepEqual(route('POST', '/../v3/kv/range'), moved('/v3/kv/range'))
  assert.deepEqual(route('POST', '/v3/kv/range/'), { response: notFound() }, 'a trailing slash is clean: 404')
  // Seen on etcd 3.4.23: /v3 → 301 /v3/ (query kept); /v3beta is not redirected (404 page).
  assert.deepEqual(route('POST', '/v3', '?x=1'), moved('/v3/?x=1'))
  assert.equal(route('POST', '/v3beta'), null)
  assert.deepEqual(route('OPTIONS', '//v3/kv/range'), { response: preflight() }, 'CORS answers first')
  assert.deepEqual(movedPermanently('/x').headers['Location'], '/x')
  assert.equal(movedPermanently('/x').status, 301)
})

test('§1 routing: paths are routed percent-decoded, as Go routes URL.Path; a bad escape is a 400', () => {
  // Seen on etcd 3.4.23: each of these is a range, the dotted one a 301, the bad escape a 400.
  assert.deepEqual(route('POST', '/v3/kv/%72ange'), { endpoint: kvRange })
  assert.deepEqual(route('POST', '/v3%2Fkv%2Frange'), { endpoint: kvRange })
  assert.deepEqual(route('POST', '/%76%33/kv/range'), { endpoint: kvRange })
  assert.deepEqual(route('POST', '/v3/kv%2f%2e%2e/kv/range'), { response: movedPermanently('/v3/kv/range') })
  assert.deepEqual(route('POST', '/v3/a%3Fb//x%20y'), { response: movedPermanently('/v3/a%3Fb/x%20y') })
  const bad = route('POST', '/v3/kv/range%zz')
  assert.ok(bad !== null && 'response' in bad)
  assert.deepEqual([bad.response.status, bad.response.body, bad.response.headers['Connection']], [400, '400 Bad Request', 'close'])
})

test('cleanPathRedirect: the raw request target a Node front sees, dot segments and empty ones, the query kept', () => {
  // Seen on etcd 3.4.23: POST /v3/kv/./range?a=1 → 301, Location: /v3/kv/range?a=1, no Content-Type.
  assert.deepEqual(cleanPathRedirect('POST', '/v3/kv/./range?a=1'), movedPermanently('/v3/kv/range?a=1'))
  assert.deepEqual(cleanPathRedirect('POST', '/v3/kv/%2E/range'), movedPermanently('/v3/kv/range'))
  assert.deepEqual(cleanPathRedirect('GET', '/v3/kv/../kv/range'), movedPermanently('/v3/kv/range'))
  assert.deepEqual(cleanPathRedirect('POST', '/v3//kv/range'), movedPermanently('/v3/kv/range'))
  assert.equal(movedPermanently('/x').headers['Content-Type'], undefined)
  for (const clean of ['/v3/kv/range', '/v3/kv/range?a=./b', '/v3/kv/.range', '/v3/kv/range/']) assert.equal(cleanPathRedirect('POST', clean), null, clean)
  assert.equal(cleanPathRedirect('OPTIONS', '/v3/./kv/range'), null, 'CORS answers first')
})

test('cleanPath: Go\'s rules', () => {
  const cases: Array<[string, string]> = [
    ['/', '/'], ['', '/'], ['//', '/'], ['/a/b', '/a/b'], ['/a//b', '/a/b'], ['/a/./b', '/a/b'], ['/a/../b', '/b'],
    ['/../a', '/a'], ['/a/b/', '/a/b/'], ['/a//b//', '/a/b/'], ['/a/..', '/'], ['/a/../', '/'], ['a/b', '/a/b'],
  ]
  for (const [path, clean] of cases) assert.equal(cleanPath(path), clean, path)
})

test('a stream that fails after messages were sent ends with grpc-gateway\'s error line', () => {
  assert.equal(
    streamErrorLine(Errors.noLeader()),
    '{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}',
  )
})

test('client side: error bodies of 3.4, 3.5, 3.6, stream lines and plain text become EtcdErrors', () => {
  const cases: readonly [number, string, number, string][] = [
    [400, '{"error":"etcdserver: key is not provided","message":"etcdserver: key is not provided","code":3}', 3, 'etcdserver: key is not provided'],
    [412, '{"error":"etcdserver: lease already exists","code":9,"message":"etcdserver: lease already exists"}', 9, 'etcdserver: lease already exists'],
    [400, '{"code":9,"message":"etcdserver: user name already exists"}', 9, 'etcdserver: user name already exists'],
    [200, '{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}', 14, 'etcdserver: no leader'],
    [404, 'Not Found\n', 5, 'Not Found'],
    [405, 'Method Not Allowed\n', 2, 'Method Not Allowed'],
  ]
  for (const [status, body, code, message] of cases) {
    const e = errorFromBody(status, body)
    assert.deepEqual([e.code, e.message], [code, message], body)
  }
})
