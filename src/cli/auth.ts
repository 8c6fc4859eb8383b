/**
 * etcdctl's auth commands, with its syntax and output:
 *
 *   auth enable | disable | status
 *   user add <name[:password]> [--no-password] | get <name> | list | delete <name> |
 *        passwd <name> | grant-role <name> <role> | revoke-role <name> <role>
 *   role add <name> | get <name> | list | delete <name> |
 *        grant-permission [--prefix | --from-key] <role> <read|write|readwrite> <key> [endkey] |
 *        revoke-permission [--prefix | --from-key] <role> <key> [endkey]
 *
 * A password not given is prompted for (password.ts): twice on a terminal, one stdin line
 * otherwise.
 *
 * @module
 */
import type { Command } from 'commander'
import {
  authDisable, authEnable, authStatus, fromKeyRangeEnd, prefixRangeEnd, roleAdd, roleDelete, roleGet,
  roleGrantPermission, roleList, roleRevokePermission, userAdd, userChangePassword, userDelete, userGet,
  userGrantRole, userList, userRevokeRole, type Permission, type PermissionType,
} from '../api/index.ts'
import type { Cli } from './context.ts'
import { CliError, ExitCode } from './errors.ts'
import { readNewPassword } from './password.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

interface RangeFlags {
  readonly prefix?: boolean
  readonly fromKey?: boolean
}

/** `key [endkey]` with --prefix / --from-key → the permission's key and range end. */
function keyRange(key: string, end: string | undefined, flags: RangeFlags): { key: Uint8Array; rangeEnd: Uint8Array } {
  const k = encoder.encode(key)
  const given = [end !== undefined, flags.prefix === true, flags.fromKey === true].filter(Boolean).length
  if (given > 1) throw new CliError(ExitCode.BadArgs, '--prefix, --from-key and endkey exclude one another')
  if (flags.prefix === true) return { key: k, rangeEnd: prefixRangeEnd(k) }
  if (flags.fromKey === true) return { key: k, rangeEnd: fromKeyRangeEnd() }
  return { key: k, rangeEnd: end === undefined ? new Uint8Array(0) : encoder.encode(end) }
}

function permType(text: string): PermissionType {
  const t = text.toUpperCase()
  if (t !== 'READ' && t !== 'WRITE' && t !== 'READWRITE') throw new CliError(ExitCode.BadArgs, `invalid permission type ${text}`)
  return t
}

/** etcdctl's lines for one permission range: `\tkey`, `\t[key, end)`, `(prefix key)`, `<open ended>`. */
function permLine(p: Permission): string {
  const key = decoder.decode(p.key)
  if (p.rangeEnd.length === 0) return `\t${key}`
  const open = p.rangeEnd.length === 1 && p.rangeEnd[0] === 0
  const prefix = decoder.decode(prefixRangeEnd(p.key)) === decoder.decode(p.rangeEnd) ? ` (prefix ${key})` : ''
  return `\t[${key}, ${open ? '<open ended>' : `${decoder.decode(p.rangeEnd)})`}${prefix}`
}

export function roleLines(name: string, perms: readonly Permission[]): string[] {
  const reads = perms.filter((p) => p.permType !== 'WRITE').map(permLine)
  const writes = perms.filter((p) => p.permType !== 'READ').map(permLine)
  return [`Role ${name}`, 'KV Read:', ...reads, 'KV Write:', ...writes]
}

function registerAuthCommands(program: Command, cli: () => Cli): void {
  const auth = program.command('auth').description('Enable or disable authentication')
  auth
    .command('enable')
    .description('Enables authentication')
    .action(async () => {
      const c = cli()
      c.printer().answer(authEnable, await (await c.client()).auth.enable(), ['Authentication Enabled'])
    })
  auth
    .command('disable')
    .description('Disables authentication')
    .action(async () => {
      const c = cli()
      c.printer().answer(authDisable, await (await c.client()).auth.disable(), ['Authentication Disabled'])
    })
  auth
    .command('status')
    .description('Returns authentication status')
    .action(async () => {
      const c = cli()
      const res = await (await c.client()).auth.status()
      c.printer().answer(authStatus, res, [`Authentication Status: ${res.enabled}`, `AuthRevision: ${res.authRevision}`])
    })
}

function registerUserCommands(program: Command, cli: () => Cli): void {
  const user = program.command('user').description('User related commands')
  user
    .command('add')
    .description('Adds a new user')
    .argument('<user name or user:password>')
    .option('--no-password', 'create a user without password (CN based auth only)')
    .action(async (spec: string, flags: { readonly password: boolean }) => {
      const colon = spec.indexOf(':')
      const name = colon < 0 ? spec : spec.slice(0, colon)
      const password = !flags.password ? null : colon < 0 ? await readNewPassword(name) : spec.slice(colon + 1)
      const c = cli()
      c.printer().answer(userAdd, await (await c.client()).auth.userAdd(name, password), [`User ${name} created`])
    })
  user
    .command('get')
    .description('Gets detailed information of a user')
    .argument('<user name>')
    .action(async (name: string) => {
      const c = cli()
      const res = await (await c.client()).auth.userGet(name)
      c.printer().answer(userGet, res, [`User: ${name}`, ['Roles:', ...res.roles].join(' ')])
    })
  user
    .command('list')
    .description('Lists all users')
    .action(async () => {
      const c = cli()
      const res = await (await c.client()).auth.userList()
      c.printer().answer(userList, res, res.users)
    })
  user
    .command('delete')
    .description('Deletes a user')
    .argument('<user name>')
    .action(async (name: string) => {
      const c = cli()
      c.printer().answer(userDelete, await (await c.client()).auth.userDelete(name), [`User ${name} deleted`])
    })
  user
    .command('passwd')
    .description('Changes password of user')
    .argument('<user name>')
    .action(async (name: string) => {
      const password = await readNewPassword(name)
      const c = cli()
      const res = await (await c.client()).auth.userChangePassword(name, password)
      c.printer().answer(userChangePassword, res, ['Password updated'])
    })
  user
    .command('grant-role')
    .description('Grants a role to a user')
    .argument('<user name>')
    .argument('<role name>')
    .action(async (name: string, role: string) => {
      const c = cli()
      const res = await (await c.client()).auth.userGrantRole(name, role)
      c.printer().answer(userGrantRole, res, [`Role ${role} is granted to user ${name}`])
    })
  user
    .command('revoke-role')
    .description('Revokes a role from a user')
    .argument('<user name>')
    .argument('<role name>')
    .action(async (name: string, role: string) => {
      const c = cli()
      const res = await (await c.client()).auth.userRevokeRole(name, role)
      c.printer().answer(userRevokeRole, res, [`Role ${role} is revoked from user ${name}`])
    })
}

function registerRoleCommands(program: Command, cli: () => Cli): void {
  const role = program.command('role').description('Role related commands')
  role
    .command('add')
    .description('Adds a new role')
    .argument('<role name>')
    .action(async (name: string) => {
      const c = cli()
      c.printer().answer(roleAdd, await (await c.client()).auth.roleAdd(name), [`Role ${name} created`])
    })
  role
    .command('get')
    .description('Gets detailed information of a role')
    .argument('<role name>')
    .action(async (name: string) => {
      const c = cli()
      const res = await (await c.client()).auth.roleGet(name)
      c.printer().answer(roleGet, res, roleLines(name, res.perm))
    })
  role
    .command('list')
    .description('Lists all roles')
    .action(async () => {
      const c = cli()
      const res = await (await c.client()).auth.roleList()
      c.printer().answer(roleList, res, res.roles)
    })
  role
    .command('delete')
    .description('Deletes a role')
    .argument('<role name>')
    .action(async (name: string) => {
      const c = cli()
      c.printer().answer(roleDelete, await (await c.client()).auth.roleDelete(name), [`Role ${name} deleted`])
    })
  role
    .command('grant-permission')
    .description('Grants a key to a role')
    .argument('<role name>')
    .argument('<permission type>', 'read, write or readwrite')
    .argument('<key>')
    .argument('[endkey]')
    .option('--prefix', 'grant a prefix permission')
    .option('--from-key', 'grant a permission of keys that are greater than or equal to the given key')
    .action(async (name: string, type: string, key: string, end: string | undefined, flags: RangeFlags) => {
      const perm = { permType: permType(type), ...keyRange(key, end, flags) }
      const c = cli()
      const res = await (await c.client()).auth.roleGrantPermission(name, perm)
      c.printer().answer(roleGrantPermission, res, [`Role ${name} updated`])
    })
  role
    .command('revoke-permission')
    .description('Revokes a key from a role')
    .argument('<role name>')
    .argument('<key>')
    .argument('[endkey]')
    .option('--prefix', 'revoke a prefix permission')
    .option('--from-key', 'revoke a permission of keys that are greater than or equal to the given key')
    .action(async (name: string, key: string, end: string | undefined, flags: RangeFlags) => {
      const range = keyRange(key, end, flags)
      const c = cli()
      const res = await (await c.client()).auth.roleRevokePermission(name, range.key, range.rangeEnd)
      const what = range.rangeEnd.length === 0 ? `key ${key}` : `range [${key}, ${decoder.decode(range.rangeEnd)})`
      c.printer().answer(roleRevokePermission, res, [`Permission of ${what} is revoked from role ${name}`])
    })
}

export function registerAuth(program: Command, cli: () => Cli): void {
  registerAuthCommands(program, cli)
  registerUserCommands(program, cli)
  registerRoleCommands(program, cli)
}
