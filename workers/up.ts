/**
 * `npm start`: a local 3-member cluster plus gateway on 127.0.0.1:2379, data in ./data, until
 * Ctrl-C. The same as `edgecd up` (src/cli/up.ts), flags included: `npm start -- --size 5`,
 * `npm start -- --help`.
 *
 * @module
 */
import { stdio } from '../src/cli/output.ts'
import { run } from '../src/cli/program.ts'

process.exit(await run(['up', ...process.argv.slice(2)], process.env, stdio))
