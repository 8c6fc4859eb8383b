/**
 * `npm run chaos -- --seed N --time 60 [--out DIR] [--size 3] [--clients 8] [--faults kill-leader,pause]`:
 * one chaos run (runner.ts); with no seed, one is drawn and printed. Exits 1 on any violation.
 *
 * @module
 */
import { parseArgs } from 'node:util'
import { FAULT_KINDS, type FaultKind } from './faults.ts'
import { runChaos } from './runner.ts'

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    time: { type: 'string', default: '60' },
    out: { type: 'string' },
    size: { type: 'string', default: '3' },
    clients: { type: 'string', default: '8' },
    faults: { type: 'string' },
  },
})
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed)
const kinds = values.faults === undefined ? FAULT_KINDS : (values.faults.split(',') as FaultKind[])
for (const k of kinds)
  if (!FAULT_KINDS.includes(k)) throw new Error(`unknown fault ${k}; known: ${FAULT_KINDS.join(', ')}`)
if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`--seed: not a whole number: ${values.seed}`)
const result = await runChaos({
  seed,
  timeSec: Number(values.time),
  size: Number(values.size),
  clients: Number(values.clients),
  kinds,
  ...(values.out === undefined ? {} : { out: values.out }),
})
console.log(`${result.ok ? 'PASS' : 'FAIL'} seed ${seed}; history, faults and verdict in ${result.dir}`)
process.exit(result.ok ? 0 : 1)
