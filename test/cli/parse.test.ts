/**
 * The CLI's parsers: etcdctl's txn syntax (compares, operation lines, sections), Go-quoted
 * strings, the flags of put/get/del as requests, IDs in hex, the global flags with their
 * variables, and usage errors through `run` (no cluster needed).
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { CliError, ExitCode } from '../../src/cli/errors.ts'
import { endpointUrl, parseDuration, resolveGlobals } from '../../src/cli/context.ts'
import { delRequest, getRequest, parseLeaseId, putRequest } from '../../src/cli/kv.ts'
import { parseMemberId } from '../../src/cli/member.ts'
import type { Output } from '../../src/cli/output.ts'
import { run } from '../../src/cli/program.ts'
import { argify, parseCompare, parseOp, readGoQuoted, readTxn } from '../../src/cli/txn.ts'
import { execArgs } from '../../src/cli/watch.ts'

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

function exitCodeOf(fn: () => unknown): number {
  try {
    fn()
  } catch (err) {
    if (err instanceof CliError) return err.exitCode
    throw err
  }
  throw new Error('expected a CliError')
}

async function* linesOf(input: string): AsyncGenerator<string> {
  for (const line of input.split('\n')) yield line
}

describe('txn compares', () => {
  test('each target, long and short names, every operator', () => {
    const mod = parseCompare('mod("key1") > "0"')
    assert.equal(text(mod.key), 'key1')
    assert.deepEqual([mod.target, mod.result, mod.modRevision], ['MOD', 'GREATER', 0])
    const val = parseCompare('value("k") = "v"')
    assert.deepEqual([val.target, val.result, text(val.value)], ['VALUE', 'EQUAL', 'v'])
    const ver = parseCompare('version("k") = "0"')
    assert.deepEqual([ver.target, ver.version], ['VERSION', 0])
    const create = parseCompare('create("k") < "5"')
    assert.deepEqual([create.target, create.result, create.createRevision], ['CREATE', 'LESS', 5])
    const lease = parseCompare('lease("k") != "7b"')
    assert.deepEqual([lease.target, lease.result, lease.lease], ['LEASE', 'NOT_EQUAL', 0x7bn])
    assert.equal(parseCompare('ver("k") = "3"').target, 'VERSION')
    assert.equal(parseCompare('c("k") = "3"').target, 'CREATE')
    assert.equal(parseCompare('m("k") = "3"').target, 'MOD')
    assert.equal(parseCompare('val("k") = "3"').target, 'VALUE')
  })

  test('Go-quoted keys and values: escapes, bytes, raw strings', () => {
    const c = parseCompare('value("a\\"b\\n\\xff") = `raw \\n`')
    assert.deepEqual([...c.key], [0x61, 0x22, 0x62, 0x0a, 0xff])
    assert.equal(text(c.value), 'raw \\n')
    assert.deepEqual(readGoQuoted('  "\\u00e9\\101"x', 0), { value: new Uint8Array([0xc3, 0xa9, 0x41]), end: 14 })
    assert.equal(readGoQuoted('"unterminated', 0), null)
    assert.equal(readGoQuoted('"bad \\q"', 0), null)
  })

  test('malformed compares are InvalidInput (exit 3) with etcdctl\'s words', () => {
    const lines = ['mod "k" > "0"', 'mod(k) > "0"', 'mod("k") >', 'mod("k")>"3"', 'foo("k") = "1"', 'mod("k") = "x"', 'mod("k") >= "1"']
    for (const line of lines) {
      assert.throws(() => parseCompare(line), (err: unknown) => {
        assert.ok(err instanceof CliError)
        assert.equal(err.exitCode, ExitCode.InvalidInput)
        assert.match(err.message, /malformed comparison|invalid txn compare request/)
        return true
      }, line)
    }
  })
})

describe('txn operations', () => {
  test('put, get and del with their flags, as the commands read them', () => {
    const put = parseOp('put key1 "overwrote key1" --lease=1f --prev-kv')
    assert.equal(put.type, 'put')
    if (put.type === 'put') {
      assert.equal(text(put.request.value), 'overwrote key1')
      assert.equal(put.request.lease, 0x1fn)
      assert.equal(put.request.prevKv, true)
    }
    const get = parseOp("get 'k e y' --prefix --limit 2 --sort-by=MODIFY --order=descend --keys-only")
    assert.equal(get.type, 'range')
    if (get.type === 'range') {
      assert.equal(text(get.request.key), 'k e y')
      assert.equal(text(get.request.rangeEnd), 'k e z')
      assert.deepEqual([get.request.limit, get.request.sortTarget, get.request.sortOrder, get.request.keysOnly], [2, 'MOD', 'DESCEND', true])
    }
    const del = parseOp('del a c')
    assert.equal(del.type, 'delete-range')
    if (del.type === 'delete-range') assert.equal(text(del.request.rangeEnd), 'c')
  })

  test('bad lines: unknown verb, missing value, unknown flag', () => {
    for (const line of ['frob k', 'put onlykey', 'get k --nope', 'del']) {
      assert.throws(() => parseOp(line), (err: unknown) => err instanceof CliError, line)
    }
    assert.equal(exitCodeOf(() => parseOp('frob k')), ExitCode.InvalidInput)
  })

  test('argify: quotes and escapes as etcdctl splits a line', () => {
    assert.deepEqual(argify(`put k "a \\"b\\"" 'c d' --lease=1`), ['put', 'k', 'a "b"', 'c d', '--lease=1'])
  })

  test('sections end at a blank line, or at the end of the input', async () => {
    const prompts: string[] = []
    const txn = await readTxn(linesOf('mod("key1") > "0"\n\nput key1 "a"\n\nput key1 "b"\nput key2 "c"\n\n'), (p) => prompts.push(p))
    assert.deepEqual([txn.compare.length, txn.success.length, txn.failure.length], [1, 1, 2])
    assert.deepEqual(prompts, ['compares:', 'success requests (get, put, del):', 'failure requests (get, put, del):'])
    const short = await readTxn(linesOf('\nget a'), () => undefined)
    assert.deepEqual([short.compare.length, short.success.length, short.failure.length], [0, 1, 0])
  })
})

describe('put, get and del flags', () => {
  test('get: prefix, from-key, an empty key means every key, sort and consistency', () => {
    assert.deepEqual(getRequest('a', undefined, { consistency: 'l', prefix: true }).options.prefix, true)
    const all = getRequest('', undefined, { consistency: 's', prefix: true })
    assert.equal(all.key, '\0')
    assert.equal(all.options.fromKey, true)
    assert.equal(all.options.serializable, true)
    const sorted = getRequest('a', 'z', { consistency: 'l', sortBy: 'create', order: 'ASCEND', rev: 4, countOnly: true })
    assert.deepEqual(
      [sorted.options.rangeEnd, sorted.options.sortTarget, sorted.options.sortOrder, sorted.options.revision, sorted.options.countOnly],
      ['z', 'CREATE', 'ASCEND', 4, true],
    )
  })

  test("etcdctl's refusals and their exit codes", () => {
    assert.equal(exitCodeOf(() => getRequest('a', undefined, { consistency: 'l', prefix: true, fromKey: true })), ExitCode.BadArgs)
    assert.equal(exitCodeOf(() => getRequest('a', 'b', { consistency: 'l', prefix: true })), ExitCode.BadArgs)
    assert.equal(exitCodeOf(() => getRequest('a', undefined, { consistency: 'l', keysOnly: true, countOnly: true })), ExitCode.BadArgs)
    assert.equal(exitCodeOf(() => getRequest('a', undefined, { consistency: 'x' })), ExitCode.BadFeature)
    assert.equal(exitCodeOf(() => getRequest('a', undefined, { consistency: 'l', sortBy: 'size' })), ExitCode.BadFeature)
    assert.equal(exitCodeOf(() => getRequest('a', undefined, { consistency: 'l', order: 'up' })), ExitCode.BadFeature)
    assert.equal(exitCodeOf(() => delRequest('a', undefined, { prefix: true, fromKey: true })), ExitCode.BadArgs)
    assert.equal(exitCodeOf(() => putRequest('a', 'v', { lease: 'xyz' })), ExitCode.BadArgs)
    assert.equal(exitCodeOf(() => putRequest('a', 'v', { lease: '0', ignoreValue: true })), ExitCode.BadArgs)
  })

  test('lease IDs as signed hex int64, member IDs as hex uint64', () => {
    assert.equal(parseLeaseId('694d77aa9e4f4f0a', 'lease ID'), 0x694d77aa9e4f4f0an)
    assert.equal(parseLeaseId('-5', 'lease ID'), -5n)
    assert.throws(() => parseLeaseId('8000000000000000', 'lease ID'), /value out of range/)
    assert.throws(() => parseLeaseId('0x12', 'lease ID'), /bad lease ID \(strconv.ParseInt: parsing "0x12": invalid syntax\), expecting ID in Hex/)
    assert.equal(parseMemberId('ffffffffffffffff'), 0xffffffffffffffffn)
    assert.throws(() => parseMemberId('-1'), /bad member ID arg/)
  })
})

describe('global flags', () => {
  test('flags win over EDGECD_* over ETCDCTL_* over defaults', () => {
    const defaults = resolveGlobals({}, {})
    assert.deepEqual(defaults.endpoints, ['127.0.0.1:2379'])
    assert.deepEqual([defaults.writeOut, defaults.dialTimeoutMs, defaults.commandTimeoutMs, defaults.hex], ['simple', 2000, 5000, false])
    const env = { ETCDCTL_ENDPOINTS: 'a:1', ETCDCTL_WRITE_OUT: 'json', EDGECD_DIAL_TIMEOUT: '1m30s', ETCDCTL_DIAL_TIMEOUT: '1s' }
    const fromEnv = resolveGlobals({}, env)
    assert.deepEqual([fromEnv.endpoints, fromEnv.writeOut, fromEnv.dialTimeoutMs], [['a:1'], 'json', 90_000])
    const fromFlags = resolveGlobals({ endpoints: 'b:2, http://c:3', writeOut: 'table', hex: true }, { ...env, EDGECD_ENDPOINTS: 'd:4' })
    assert.deepEqual([fromFlags.endpoints, fromFlags.writeOut, fromFlags.hex], [['b:2', 'http://c:3'], 'table', true])
  })

  test('durations, endpoint URLs, bad values', () => {
    assert.equal(parseDuration('500ms', 'x'), 500)
    assert.equal(parseDuration('1h2m3.5s', 'x'), 3_723_500)
    assert.equal(parseDuration('0', 'x'), 0)
    assert.throws(() => parseDuration('5', '--dial-timeout'), /--dial-timeout: invalid duration "5"/)
    assert.equal(endpointUrl('127.0.0.1:2379'), 'http://127.0.0.1:2379')
    assert.equal(endpointUrl('https://h:1'), 'https://h:1')
    assert.equal(exitCodeOf(() => resolveGlobals({ writeOut: 'yaml' }, {})), ExitCode.BadFeature)
  })

  test('the command to run per watch event follows the -- after watch', () => {
    assert.deepEqual(execArgs(['--endpoints', 'x', 'watch', 'k', '--', 'echo', '-n', 'hi']), { found: true, argv: ['echo', '-n', 'hi'] })
    assert.deepEqual(execArgs(['watch', 'k', '--prefix']), { found: false, argv: [] })
  })
})

describe('usage errors through run', () => {
  function capture(): Output & { out_: string[]; err_: string[] } {
    const out_: string[] = []
    const err_: string[] = []
    return {
      out_,
      err_,
      out: (line) => out_.push(typeof line === 'string' ? line : new TextDecoder().decode(line)),
      err: (line) => err_.push(line),
    }
  }

  test('unknown flag and missing argument: Error:, the help, exit 1', async () => {
    const o = capture()
    assert.equal(await run(['get', 'k', '--bogus'], {}, o), 1)
    assert.match(o.err_.join('\n'), /^Error: unknown option '--bogus'[\s\S]*Usage: edgecd get \[options\] <key> \[range_end\]/)
    const o2 = capture()
    assert.equal(await run(['lease', 'revoke'], {}, o2), 1)
    assert.match(o2.err_[0] ?? '', /^Error: missing required argument 'leaseID'/)
  })

  test("etcdctl's argument errors exit 128, bad features 4, before any call", async () => {
    const o = capture()
    assert.equal(await run(['lease', 'revoke', 'xyz'], {}, o), 128)
    assert.deepEqual(o.err_, ['Error: bad lease ID arg (strconv.ParseInt: parsing "xyz": invalid syntax), expecting ID in Hex'])
    assert.equal(await run(['get', 'a', '--prefix', '--from-key'], {}, capture()), 128)
    assert.equal(await run(['-w', 'yaml', 'get', 'a'], {}, capture()), 4)
    assert.equal(await run(['elect', 'e'], {}, capture()), 128)
    assert.equal(await run(['member', 'add', 'n'], {}, capture()), 128)
    assert.equal(await run(['watch', 'k', '--'], {}, capture()), 128)
  })

  test('version and help exit 0', async () => {
    const o = capture()
    assert.equal(await run(['version'], {}, o), 0)
    assert.match(o.out_[0] ?? '', /^edgecd version: \d+\.\d+\.\d+$/)
    const h = capture()
    assert.equal(await run(['--help'], {}, h), 0)
    assert.match(h.out_.join('\n'), /snapshot/)
  })
})
