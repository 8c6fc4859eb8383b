/**
 * `npm start`: a local 3-member cluster plus gateway on 127.0.0.1:2379, data in ./data, until
 * Ctrl-C (the same as `edgecd up`; see src/cli/up.ts).
 *
 * @module
 */
import { DEFAULT_UP_OPTIONS, runUp } from '../src/cli/up.ts'

process.exit(await runUp(DEFAULT_UP_OPTIONS))
