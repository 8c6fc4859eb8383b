/**
 * `npm run chaos -- --seed N --time 60 [--out DIR] [--size 3] [--clients 8] [--faults kill-leader,pause] [--log-level info]`:
 * one chaos run (runner.ts); with no seed, one is drawn and printed. Exits 1 on any violation.
 *
 * @module
 */
import { commandLine, usageCheck, UsageError, wholeNumber } from '../command-line.ts'
import { FAULT_KINDS, type FaultKind } from './faults.ts'
import { runChaos } from './runner.ts'

const USAGE = `usage: npm run chaos -- [options]
  --seed N             the run's seed (default: drawn and printed)
  --time 60            seconds of load and faults
  --out DIR            where history, faults and verdict go
  --size 3             members
  --clients 8          concurrent clients
  --faults K,K         some of ${FAULT_KINDS.join(', ')} (default: all)
  --log-level warn     the members' log level (info: elections, restarts, snapshots)
  --help               this text`
const values = commandLine(USAGE, {
  seed: { type: 'string' },
  time: { type: 'string', default: '60' },
  out: { type: 'string' },
  size: { type: 'string', default: '3' },
  clients: { type: 'string', default: '8' },
  faults: { type: 'string' },
  'log-level': { type: 'string', default: 'warn' },
})
const { seed, timeSec, size, clients, kinds } = usageCheck(USAGE, () => {
  const kinds = values.faults === undefined ? FAULT_KINDS : (values.faults.split(',') as FaultKind[])
  for (const k of kinds)
    if (!FAULT_KINDS.includes(k)) throw new UsageError(`unknown fault ${k}; known: ${FAULT_KINDS.join(', ')}`)
  return {
    seed: values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : wholeNumber('seed', values.seed, 0),
    timeSec: wholeNumber('time', values.time, 1),
    size: wholeNumber('size', values.size, 1),
    clients: wholeNumber('clients', values.clients, 1),
    kinds,
  }
})
const result = await runChaos({
  seed,
  timeSec,
  size,
  clients,
  kinds,
  logLevel: values['log-level'],
  ...(values.out === undefined ? {} : { out: values.out }),
})
console.log(`${result.ok ? 'PASS' : 'FAIL'} seed ${seed}; history, faults and verdict in ${result.dir}`)
process.exit(result.ok ? 0 : 1)
