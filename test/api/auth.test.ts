/**
 * The auth service against §10: every request shape of the table, the responses, the errors.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EtcdError, GrpcCode } from '../../src/mvcc/errors.ts'
import {
  authAuthenticate, authDisable, authEnable, authStatus, decodeRequest, encodeResponse, errorResponse, roleAdd,
  roleDelete, roleGet, roleGrantPermission, roleList, roleRevokePermission, userAdd, userChangePassword, userDelete,
  userGet, userGrantRole, userList, userRevokeRole, type AnyEndpoint,
} from '../../src/api/index.ts'
import { CTX, hdr, utf8 } from './helpers.ts'

const REQUESTS: readonly [string, AnyEndpoint, string, unknown][] = [
  ['enable', authEnable, '{}', {}],
  ['disable', authDisable, '{}', {}],
  ['status', authStatus, '{}', {}],
  ['authenticate', authAuthenticate, '{"name":"alice","password":"alicepw"}', { name: 'alice', password: 'alicepw' }],
  ['user/add', userAdd, '{"name":"root","password":"rootpw"}', { name: 'root', password: 'rootpw', options: null }],
  ['user/add without password', userAdd, '{"name":"u","options":{"no_password":true}}', { name: 'u', password: '', options: { noPassword: true } }],
  ['user/get', userGet, '{"name":"alice"}', { name: 'alice' }],
  ['user/list', userList, '{}', {}],
  ['user/delete', userDelete, '{"name":"alice"}', { name: 'alice' }],
  ['user/changepw', userChangePassword, '{"name":"alice","password":"pw2"}', { name: 'alice', password: 'pw2' }],
  ['user/grant takes user', userGrantRole, '{"user":"root","role":"root"}', { user: 'root', role: 'root' }],
  ['user/revoke takes name', userRevokeRole, '{"name":"alice","role":"reader"}', { name: 'alice', role: 'reader' }],
  ['role/add', roleAdd, '{"name":"reader"}', { name: 'reader' }],
  ['role/get takes role', roleGet, '{"role":"reader"}', { role: 'reader' }],
  ['role/list', roleList, '{}', {}],
  ['role/delete takes role', roleDelete, '{"role":"reader"}', { role: 'reader' }],
  [
    'role/grant',
    roleGrantPermission,
    '{"name":"reader","perm":{"permType":"READ","key":"YS8=","range_end":"YTA="}}',
    { name: 'reader', perm: { permType: 'READ', key: utf8('a/'), rangeEnd: utf8('a0') } },
  ],
  [
    'role/grant READWRITE by number',
    roleGrantPermission,
    '{"name":"w","perm":{"permType":2,"key":"YQ=="}}',
    { name: 'w', perm: { permType: 'READWRITE', key: utf8('a'), rangeEnd: new Uint8Array(0) } },
  ],
  ['role/revoke', roleRevokePermission, '{"role":"reader","key":"YS8=","range_end":"YTA="}', { role: 'reader', key: utf8('a/'), rangeEnd: utf8('a0') }],
  ['user/add with an empty name (the store refuses it)', userAdd, '{"name":""}', { name: '', password: '', options: null }],
]

for (const [name, ep, body, expected] of REQUESTS) {
  test(`§10 ${name} request decodes`, () => {
    assert.deepEqual(decodeRequest(ep, body), expected)
  })
}

test('§10 an unknown permission type is refused by name', () => {
  assert.throws(() => decodeRequest(roleGrantPermission, '{"perm":{"permType":"ALL"}}'), {
    message: 'unknown value "ALL" for enum authpb.Permission_Type',
  })
})

test('§10 auth responses print as etcd; READ permissions have no permType', () => {
  assert.equal(encodeResponse(authEnable, { header: { revision: 5 } }, CTX), `{${hdr(5)}}`)
  assert.equal(
    encodeResponse(authAuthenticate, { header: { revision: 5 }, token: 'ONjyMOrehKjwsvEG.45' }, CTX),
    `{${hdr(5)},"token":"ONjyMOrehKjwsvEG.45"}`,
  )
  assert.equal(encodeResponse(userGet, { header: { revision: 5 }, roles: ['reader'] }, CTX), `{${hdr(5)},"roles":["reader"]}`)
  assert.equal(encodeResponse(userList, { header: { revision: 5 }, users: ['alice', 'root'] }, CTX), `{${hdr(5)},"users":["alice","root"]}`)
  assert.equal(encodeResponse(roleList, { header: { revision: 5 }, roles: [] }, CTX), `{${hdr(5)}}`)
  assert.equal(
    encodeResponse(roleGet, {
      header: { revision: 5 },
      perm: [
        { permType: 'READ', key: utf8('a/'), rangeEnd: utf8('a0') },
        { permType: 'WRITE', key: utf8('b'), rangeEnd: new Uint8Array(0) },
      ],
    }, CTX),
    `{${hdr(5)},"perm":[{"key":"YS8=","range_end":"YTA="},{"permType":"WRITE","key":"Yg=="}]}`,
  )
  assert.equal(encodeResponse(authStatus, { header: { revision: 5 }, enabled: true, authRevision: 7 }, CTX), `{${hdr(5)},"enabled":true,"authRevision":"7"}`)
})

test('strings print with Go\'s escaping (HTML-safe)', () => {
  assert.equal(
    encodeResponse(userList, { header: { revision: 5 }, users: ['a<b>&"c"\\\n\u2028é😀'] }, CTX),
    `{${hdr(5)},"users":["a\\u003cb\\u003e\\u0026\\"c\\"\\\\\\n\\u2028é😀"]}`,
  )
})

const AUTH_ERRORS: readonly [string, number, string][] = [
  ['no token', GrpcCode.InvalidArgument, 'etcdserver: user name is empty'],
  ['wrong password', GrpcCode.InvalidArgument, 'etcdserver: authentication failed, invalid user ID or password'],
  ['a garbage token', GrpcCode.Unauthenticated, 'etcdserver: invalid auth token'],
  ['outside the granted range', GrpcCode.PermissionDenied, 'etcdserver: permission denied'],
  ['user exists', GrpcCode.FailedPrecondition, 'etcdserver: user name already exists'],
  ['root missing', GrpcCode.FailedPrecondition, 'etcdserver: root user does not exist'],
]

const STATUS: Record<number, number> = { 3: 400, 16: 401, 7: 403, 9: 412 }

for (const [name, code, message] of AUTH_ERRORS) {
  test(`§10 ${name} → ${STATUS[code]} / ${code}`, () => {
    const r = errorResponse(new EtcdError(code as GrpcCode, message))
    assert.deepEqual([r.status, r.body], [STATUS[code], `{"error":"${message}","message":"${message}","code":${code}}`])
  })
}
